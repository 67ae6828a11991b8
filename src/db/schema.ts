// Every table of every capability, for drizzle's relational queries and the migrator.
export * from '../auth/tables.js';
export * from '../teams/tables.js';
export * from '../tickets/tables.js';
export * from '../mail/tables.js';
export * from '../sla/tables.js';
export * from '../webform/tables.js';
export * from '../chatbot/tables.js';
export * from '../livechat/tables.js';
export * from '../outbound/tables.js';

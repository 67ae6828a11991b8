import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agents } from '../auth/tables.js';
import { chatbotScripts, chatbotSteps } from '../chatbot/tables.js';
import { createdAtColumn, idColumn, timestampColumn } from '../db/columns.js';
import { teams } from '../teams/tables.js';
import { tickets } from '../tickets/tables.js';

export const liveChatSessionStatus = pgEnum('live_chat_session_status', ['WAITING', 'OPEN', 'CLOSED']);
export const chatAuthorKind = pgEnum('chat_author_kind', ['VISITOR', 'OPERATOR', 'BOT', 'SYSTEM']);
export const liveChatRatingValue = pgEnum('live_chat_rating_value', ['SATISFIED', 'OKAY', 'DISSATISFIED']);
export const liveChatOfflineBehavior = pgEnum('live_chat_offline_behavior', ['LEAVE_MESSAGE', 'HIDE']);
export const liveChatRuleAction = pgEnum('live_chat_rule_action', ['DISPLAY_BUTTON', 'DISPLAY_BUTTON_AND_TEXT', 'AUTO_POPUP', 'HIDE_BUTTON']);
/** Where a session's bot stands: RUNNING (it answers), LEAVE_MESSAGE (the visitor's next message becomes a ticket), HANDED_OVER (silent for good). */
export const liveChatChatbotPhase = pgEnum('live_chat_chatbot_phase', ['RUNNING', 'LEAVE_MESSAGE', 'HANDED_OVER']);
export const liveChatChatbotCondition = pgEnum('live_chat_chatbot_condition', ['ALWAYS', 'ONLY_IF_NO_OPERATOR', 'ONLY_IF_OPERATOR']);

/** One per team that ever switched live chat on; kept (disabled) when it is switched off. */
export const liveChatChannels = pgTable(
  'live_chat_channels',
  {
    id: idColumn(),
    teamId: integer('team_id')
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    // Mirrors the team's useLiveChat, so availability needs no read of the teams table.
    enabled: boolean('enabled').notNull().default(true),
    buttonText: text('button_text').notNull(),
    welcomeMessage: text('welcome_message').notNull(),
    inputPlaceholder: text('input_placeholder').notNull(),
    headerBackgroundColor: text('header_background_color').notNull(),
    titleColor: text('title_color').notNull(),
    buttonBackgroundColor: text('button_background_color').notNull(),
    buttonTextColor: text('button_text_color').notNull(),
    maxSessionsPerOperator: integer('max_sessions_per_operator'),
    // The public name of the channel in the embed code and the direct link, never its id. The
    // default gives every channel, existing ones included, a key of 128 random bits.
    key: text('key')
      .notNull()
      .default(sql`replace(gen_random_uuid()::text, '-', '')`),
    // Origins (scheme://host[:port]) whose pages may use the widget; empty: any.
    allowedOrigins: text('allowed_origins').array().notNull().default([]),
    offlineBehavior: liveChatOfflineBehavior('offline_behavior').notNull().default('LEAVE_MESSAGE'),
    createdAt: createdAtColumn(),
  },
  (t) => [uniqueIndex('live_chat_channels_team_unique').on(t.teamId), uniqueIndex('live_chat_channels_key').on(t.key)],
);

/** Per channel, which pages and countries show the chat button, and how (see chooseRule). */
export const liveChatRules = pgTable(
  'live_chat_rules',
  {
    id: idColumn(),
    channelId: integer('channel_id')
      .notNull()
      .references(() => liveChatChannels.id, { onDelete: 'cascade' }),
    // An RE2 regular expression searched anywhere in the page URL; empty matches every page.
    urlPattern: text('url_pattern').notNull().default(''),
    action: liveChatRuleAction('action').notNull(),
    autoPopupSeconds: integer('auto_popup_seconds').notNull().default(0),
    countries: text('countries').array().notNull().default([]),
    sequence: integer('sequence').notNull().default(10),
    // The chatbot script a session started under this rule runs, when its condition holds.
    // RESTRICT: a script in use cannot be deleted (SCRIPT_IN_USE).
    chatbotScriptId: integer('chatbot_script_id').references(() => chatbotScripts.id, { onDelete: 'restrict' }),
    chatbotCondition: liveChatChatbotCondition('chatbot_condition').notNull().default('ALWAYS'),
    createdAt: createdAtColumn(),
  },
  (t) => [index('live_chat_rules_channel').on(t.channelId, t.sequence), index('live_chat_rules_chatbot_script').on(t.chatbotScriptId)],
);

export const liveChatOperators = pgTable(
  'live_chat_operators',
  {
    channelId: integer('channel_id')
      .notNull()
      .references(() => liveChatChannels.id, { onDelete: 'cascade' }),
    agentId: integer('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    createdAt: createdAtColumn(),
  },
  (t) => [primaryKey({ columns: [t.channelId, t.agentId] }), index('live_chat_operators_agent').on(t.agentId)],
);

/** What an agent said about taking chats, whatever the channel. */
export const liveChatOperatorStatuses = pgTable('live_chat_operator_statuses', {
  agentId: integer('agent_id')
    .primaryKey()
    .references(() => agents.id, { onDelete: 'cascade' }),
  accepting: boolean('accepting').notNull().default(false),
  languages: text('languages').array().notNull().default([]),
  // Written only by the agent's own setOperatorStatus, never by assignment: "idle longest" is
  // read from the messages table, so assignment takes no lock here (see assignment.ts).
});

/**
 * One row per open liveChatSessionChanged(channelId) subscription of an operator, on any
 * instance. Each instance refreshes its rows' heartbeat; rows of a dead instance go stale.
 */
export const liveChatPresences = pgTable(
  'live_chat_presences',
  {
    id: idColumn(),
    channelId: integer('channel_id')
      .notNull()
      .references(() => liveChatChannels.id, { onDelete: 'cascade' }),
    agentId: integer('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    instanceId: text('instance_id').notNull(),
    heartbeatAt: timestampColumn('heartbeat_at').notNull().defaultNow(),
  },
  (t) => [index('live_chat_presences_channel').on(t.channelId, t.agentId), index('live_chat_presences_instance').on(t.instanceId)],
);

export const liveChatSessions = pgTable(
  'live_chat_sessions',
  {
    id: idColumn(),
    channelId: integer('channel_id')
      .notNull()
      .references(() => liveChatChannels.id, { onDelete: 'cascade' }),
    status: liveChatSessionStatus('status').notNull(),
    visitorName: text('visitor_name').notNull(),
    visitorEmail: text('visitor_email'),
    language: text('language'),
    country: text('country'),
    pageUrl: text('page_url'),
    operatorId: integer('operator_id').references(() => agents.id, { onDelete: 'set null' }),
    // SHA-256 digest: the key is shown once, to the visitor (its token lives in visitor_tokens).
    sessionKeyHash: text('session_key_hash').notNull(),
    // The client's address as per-client limits count it: IPv6 cut to its /64.
    clientAddress: text('client_address'),
    // Highest message seq given out; bumped under the session's row lock, so seq order is commit order.
    lastSeq: integer('last_seq').notNull().default(0),
    visitorWrote: boolean('visitor_wrote').notNull().default(false),
    // The operator of the visitor's earlier session (previousSessionKey): preferred when the
    // line serves the session, as when it starts.
    preferredOperatorId: integer('preferred_operator_id').references(() => agents.id, { onDelete: 'set null' }),
    // Last heartbeat of an open chat stream of the visitor (any instance): a waiting visitor
    // still there is not idle.
    visitorSeenAt: timestampColumn('visitor_seen_at'),
    lastActivityAt: timestampColumn('last_activity_at').notNull().defaultNow(),
    createdAt: createdAtColumn(),
    closedAt: timestampColumn('closed_at'),
    // The script the session opened with (kept after the hand-over); null: no bot.
    chatbotScriptId: integer('chatbot_script_id').references(() => chatbotScripts.id, { onDelete: 'set null' }),
    chatbotPhase: liveChatChatbotPhase('chatbot_phase'),
    // How far the bot got (the engine's ChatbotProgress) and what the visitor answered (chatbot-runtime.ts).
    chatbotState: jsonb('chatbot_state').$type<ChatbotSessionState>(),
    // The visitor's messages up to this seq were read by the bot: a turn reads those after it.
    chatbotReadSeq: integer('chatbot_read_seq').notNull().default(0),
    // FREE_INPUT_MULTI: the visitor has finished once this passes without a new message (the chatbot job).
    chatbotDueAt: timestampColumn('chatbot_due_at'),
    // Opened by an admin's testChatbotScript: left out of lists and figures unless asked for.
    test: boolean('test').notNull().default(false),
  },
  (t) => [
    index('live_chat_sessions_key').on(t.sessionKeyHash),
    index('live_chat_sessions_channel_status').on(t.channelId, t.status, t.id),
    index('live_chat_sessions_operator_status').on(t.operatorId, t.status),
    // An operator's open sessions in a channel, counted under the channel lock at every start
    // and assignment ("fewest open sessions"): an index-only count, whatever else the table holds.
    index('live_chat_sessions_open_operator').on(t.channelId, t.operatorId).where(sql`${t.status} = 'OPEN'`),
    index('live_chat_sessions_open_client').on(t.clientAddress).where(sql`${t.status} <> 'CLOSED'`),
    index('live_chat_sessions_chatbot_due').on(t.chatbotDueAt).where(sql`${t.chatbotDueAt} is not null`),
  ],
);

/** What a session's bot keeps between turns: the engine's progress and the visitor's answers. */
export interface ChatbotSessionState {
  stepId: number | null;
  chosenAnswerIds: number[];
  ticketCreated: boolean;
  ended: boolean;
  email: string | null;
  phone: string | null;
  freeInputs: string[];
  /** FREE_INPUT_MULTI: what the visitor wrote on the current step so far. */
  pendingInput: string[];
}

export type LiveChatSessionRow = typeof liveChatSessions.$inferSelect;
export type LiveChatChannelRow = typeof liveChatChannels.$inferSelect;

export const liveChatMessages = pgTable(
  'live_chat_messages',
  {
    id: idColumn(),
    sessionId: integer('session_id')
      .notNull()
      .references(() => liveChatSessions.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    authorKind: chatAuthorKind('author_kind').notNull(),
    authorName: text('author_name').notNull(),
    agentId: integer('agent_id').references(() => agents.id, { onDelete: 'set null' }),
    body: text('body').notNull(),
    operatorOnly: boolean('operator_only').notNull().default(false),
    // Commands and the welcome message stay out of transcripts.
    inTranscript: boolean('in_transcript').notNull().default(true),
    clientMessageId: text('client_message_id'),
    createdAt: createdAtColumn(),
    // A bot's question: its step, whose answers the message offers as buttons.
    chatbotStepId: integer('chatbot_step_id').references(() => chatbotSteps.id, { onDelete: 'set null' }),
    // A bot's message that sends the visitor to this address (a redirect answer).
    redirectUrl: text('redirect_url'),
  },
  (t) => [
    uniqueIndex('live_chat_messages_session_seq').on(t.sessionId, t.seq),
    // An idempotency key is its author's own: the visitor, or one operator (0: an admin token of no agent).
    uniqueIndex('live_chat_messages_author_client_id').on(t.sessionId, t.authorKind, sql`coalesce(${t.agentId}, 0)`, t.clientMessageId),
    // An operator's latest message (welcome messages included, so assignments too): "idle longest".
    index('live_chat_messages_agent').on(t.agentId, t.createdAt).where(sql`${t.agentId} is not null`),
  ],
);

export const liveChatRatings = pgTable(
  'live_chat_ratings',
  {
    sessionId: integer('session_id')
      .primaryKey()
      .references(() => liveChatSessions.id, { onDelete: 'cascade' }),
    channelId: integer('channel_id')
      .notNull()
      .references(() => liveChatChannels.id, { onDelete: 'cascade' }),
    rating: liveChatRatingValue('rating').notNull(),
    comment: text('comment'),
    operatorId: integer('operator_id').references(() => agents.id, { onDelete: 'set null' }),
    createdAt: createdAtColumn(),
  },
  (t) => [index('live_chat_ratings_channel').on(t.channelId, t.createdAt)],
);

/** Tickets made from a chat (/helpdesk): the link both ways. */
export const liveChatSessionTickets = pgTable(
  'live_chat_session_tickets',
  {
    sessionId: integer('session_id')
      .notNull()
      .references(() => liveChatSessions.id, { onDelete: 'cascade' }),
    ticketId: integer('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.ticketId] }), uniqueIndex('live_chat_session_tickets_ticket').on(t.ticketId)],
);

/** Rate-limit counters shared by every instance: key + slot start → hits (sliding windows, see ratelimit.ts). */
export const liveChatRateCounters = pgTable(
  'live_chat_rate_counters',
  {
    key: text('key').notNull(),
    windowStart: timestampColumn('window_start').notNull(),
    hits: integer('hits').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.key, t.windowStart] })],
);

/**
 * When each author of a session last had a typing indicator sent: indicators are coalesced to
 * one per author and session per second, on every instance alike.
 */
export const liveChatTypingMarks = pgTable(
  'live_chat_typing_marks',
  {
    sessionId: integer('session_id')
      .notNull()
      .references(() => liveChatSessions.id, { onDelete: 'cascade' }),
    // "visitor", or "agent:<id>" / "admin" for staff.
    author: text('author').notNull(),
    sentAt: timestampColumn('sent_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.author] })],
);

import { defineRelations } from 'drizzle-orm';
import * as schema from './schema.js';

export const relations = defineRelations(schema, (r) => ({
  apiTokens: {
    agent: r.one.agents({ from: r.apiTokens.agentId, to: r.agents.id }),
  },
  teams: {
    stages: r.many.stages({ from: r.teams.id, to: r.stages.teamId }),
    slaPolicies: r.many.slaPolicies({ from: r.teams.id, to: r.slaPolicies.teamId }),
    calendar: r.one.teamCalendars({ from: r.teams.id, to: r.teamCalendars.teamId }),
    tickets: r.many.tickets({ from: r.teams.id, to: r.tickets.teamId }),
  },
  stages: {
    team: r.one.teams({ from: r.stages.teamId, to: r.teams.id, optional: false }),
  },
  customers: {
    tickets: r.many.tickets({ from: r.customers.id, to: r.tickets.customerId }),
  },
  tickets: {
    team: r.one.teams({ from: r.tickets.teamId, to: r.teams.id, optional: false }),
    stage: r.one.stages({ from: r.tickets.stageId, to: r.stages.id, optional: false }),
    customer: r.one.customers({ from: r.tickets.customerId, to: r.customers.id }),
    assignee: r.one.agents({ from: r.tickets.assigneeId, to: r.agents.id }),
    messages: r.many.ticketMessages({ from: r.tickets.id, to: r.ticketMessages.ticketId }),
    slaStatuses: r.many.ticketSlaStatuses({ from: r.tickets.id, to: r.ticketSlaStatuses.ticketId }),
    tags: r.many.tags({
      from: r.tickets.id.through(r.ticketTags.ticketId),
      to: r.tags.id.through(r.ticketTags.tagId),
    }),
  },
  ticketMessages: {
    ticket: r.one.tickets({ from: r.ticketMessages.ticketId, to: r.tickets.id, optional: false }),
    attachments: r.many.ticketAttachments({ from: r.ticketMessages.id, to: r.ticketAttachments.messageId }),
  },
  slaPolicies: {
    team: r.one.teams({ from: r.slaPolicies.teamId, to: r.teams.id, optional: false }),
    targetStage: r.one.stages({ from: r.slaPolicies.targetStageId, to: r.stages.id, optional: false }),
  },
  ticketSlaStatuses: {
    policy: r.one.slaPolicies({ from: r.ticketSlaStatuses.policyId, to: r.slaPolicies.id, optional: false }),
  },
  outboundMails: {
    ticket: r.one.tickets({ from: r.outboundMails.ticketId, to: r.tickets.id }),
  },
  inboundMails: {
    team: r.one.teams({ from: r.inboundMails.teamId, to: r.teams.id }),
    ticket: r.one.tickets({ from: r.inboundMails.ticketId, to: r.tickets.id }),
  },
}));

export type Relations = typeof relations;

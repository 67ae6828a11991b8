import { staffAuthor } from '../auth/principal.js';
import { builder } from '../graphql/builder.js';
import { idArgument } from '../graphql/global-id.js';
import { payloadType, requireIdOf, withUserErrors } from '../graphql/user-errors.js';
import { addTicketNote } from './chatter.js';
import type { ListedTicket } from './list.js';
import './list-graphql.js';
import {
  assignTicket,
  createTicket,
  moveTicketToStage,
  setTicketPriority,
  setTicketTags,
  type TicketRow,
} from './service.js';
import { EVENT_RETENTION_DAYS, type EventEdge } from '../events/hub.js';
import { ticketCreated, ticketUpdated } from './events.js';
import { MessageAuthorKind } from './message-graphql.js';
import { Ticket, TicketPriority } from './ticket-graphql.js';

const ticketPayload = (name: string) =>
  payloadType<TicketRow, 'ticket'>(
    name,
    `Result of ${name[0]!.toLowerCase()}${name.slice(1, -'Payload'.length)}.`,
    'ticket',
    Ticket,
    'The ticket as it is now, when the mutation succeeded.',
  );

const CreateTicketInput = builder.inputType('CreateTicketInput', {
  description: 'A ticket created through the API.',
  fields: (t) => ({
    teamId: t.id({ required: true, description: 'Global ID of the team that will own it.' }),
    title: t.string({ required: true, description: 'Short summary, at most 300 characters.' }),
    description: t.string({ description: 'What the customer wrote; also the first chatter message.' }),
    priority: t.field({ type: TicketPriority, description: 'Defaults to LOW.' }),
    customerEmail: t.string({ description: 'The customer, found or created by this address.' }),
    customerName: t.string({ description: "The customer's name, kept when the customer is new; without customerEmail, a new customer known by this name only." }),
    transcript: t.field({
      type: [TicketTranscriptMessageInput],
      description: 'The conversation the ticket starts from (a phone call, a chat), oldest first: its messages become the first chatter entries instead of the description.',
    }),
  }),
});

const TicketTranscriptMessageInput = builder.inputType('TicketTranscriptMessageInput', {
  description: 'One message of the conversation a ticket starts from.',
  fields: (t) => ({
    authorKind: t.field({ type: MessageAuthorKind, required: true, description: 'Who wrote it: the customer, an agent or the system.' }),
    authorName: t.string({ description: "The author's display name; a customer's defaults to the ticket's customer." }),
    body: t.string({ required: true, description: 'The message, as plain text.' }),
    writtenAt: t.field({ type: 'DateTime', required: true, description: 'When it was written.' }),
  }),
});

const SetTicketPriorityInput = builder.inputType('SetTicketPriorityInput', {
  description: 'A new priority for a ticket.',
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    priority: t.field({ type: TicketPriority, required: true, description: 'The new priority.' }),
  }),
});

const MoveTicketToStageInput = builder.inputType('MoveTicketToStageInput', {
  description: "Moves a ticket within its team's pipeline.",
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    stageId: t.id({ required: true, description: "Global ID of a stage of the ticket's team." }),
  }),
});

const AddTicketNoteInput = builder.inputType('AddTicketNoteInput', {
  description: 'An internal note on the chatter.',
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    body: t.string({ required: true, description: 'The note, as plain text.' }),
  }),
});

const AssignTicketInput = builder.inputType('AssignTicketInput', {
  description: 'Gives a ticket to an agent, or takes it back.',
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    agentId: t.id({ description: 'Global ID of the agent; null to unassign.' }),
  }),
});

const SetTicketTagsInput = builder.inputType('SetTicketTagsInput', {
  description: "Replaces a ticket's tags.",
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    tags: t.stringList({ required: true, description: 'Tag names; new ones are created.' }),
  }),
});

builder.mutationFields((t) => ({
  createTicket: t.field({
    type: ticketPayload('CreateTicketPayload'),
    description: 'Creates a ticket in the first stage of a team, on the API channel.',
    args: { input: t.arg({ type: CreateTicketInput, required: true, description: 'The new ticket.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await createTicket(ctx.db, {
          teamId: requireIdOf(String(input.teamId), 'Team', 'teamId'),
          title: input.title,
          description: input.description,
          priority: input.priority,
          channel: 'API',
          customer: input.customerEmail == null && input.customerName == null ? null : { email: input.customerEmail, name: input.customerName },
          transcript: input.transcript?.map((m) => ({ authorKind: m.authorKind, authorName: m.authorName, body: m.body, writtenAt: m.writtenAt })),
        }),
      })),
  }),
  setTicketPriority: t.field({
    type: ticketPayload('SetTicketPriorityPayload'),
    description: 'Changes the priority of a ticket.',
    args: { input: t.arg({ type: SetTicketPriorityInput, required: true, description: 'Ticket and priority.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await setTicketPriority(ctx.db, { ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'), priority: input.priority }),
      })),
  }),
  moveTicketToStage: t.field({
    type: ticketPayload('MoveTicketToStagePayload'),
    description: "Moves a ticket to another stage of its team's pipeline.",
    args: { input: t.arg({ type: MoveTicketToStageInput, required: true, description: 'Ticket and stage.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await moveTicketToStage(ctx.db, {
          ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'),
          stageId: requireIdOf(String(input.stageId), 'Stage', 'stageId'),
        }),
      })),
  }),
  addTicketNote: t.field({
    type: ticketPayload('AddTicketNotePayload'),
    description: "Adds an internal note to a ticket's chatter, signed by the agent of the caller's token.",
    args: { input: t.arg({ type: AddTicketNoteInput, required: true, description: 'Ticket and note.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await addTicketNote(ctx.db, {
          ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'),
          body: input.body,
          author: staffAuthor(ctx.principal),
        }),
      })),
  }),
  assignTicket: t.field({
    type: ticketPayload('AssignTicketPayload'),
    description: 'Assigns a ticket to an agent, or unassigns it.',
    args: { input: t.arg({ type: AssignTicketInput, required: true, description: 'Ticket and agent.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await assignTicket(ctx.db, {
          ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'),
          agentId: input.agentId == null ? null : requireIdOf(String(input.agentId), 'Agent', 'agentId'),
        }),
      })),
  }),
  setTicketTags: t.field({
    type: ticketPayload('SetTicketTagsPayload'),
    description: "Replaces a ticket's tags.",
    args: { input: t.arg({ type: SetTicketTagsInput, required: true, description: 'Ticket and tags.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await setTicketTags(ctx.db, { ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'), tags: input.tags }),
      })),
  }),
}));

/** The team a subscriber asked for, as the events' filter key. */
function teamKey(teamId: string | number | null | undefined): number | null {
  return teamId == null ? null : idArgument(teamId, 'Team', ['teamId']);
}

const TicketEventEdge = builder.objectRef<EventEdge<ListedTicket>>('TicketEventEdge').implement({
  description: 'A ticket event: the ticket as it is now, and the cursor to resume the subscription after it.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this event.' }),
    node: t.field({ type: Ticket, description: 'The ticket.', resolve: (edge) => edge.node }),
  }),
});

const AFTER_DESCRIPTION = `Resume after this cursor: first the events committed since, in order, then live ones. Cursors last ${EVENT_RETENTION_DAYS} days (CURSOR_EXPIRED after).`;

builder.subscriptionFields((t) => ({
  ticketCreated: t.field({
    type: TicketEventEdge,
    description: 'A ticket was created, through any channel.',
    args: { teamId: t.arg.id({ description: 'Only tickets of this team.' }), after: t.arg.string({ description: AFTER_DESCRIPTION }) },
    subscribe: (_root, args, ctx) => ctx.events.subscribe(ticketCreated, { key: teamKey(args.teamId), after: args.after }),
    resolve: (edge) => edge,
  }),
  ticketUpdated: t.field({
    type: TicketEventEdge,
    description: 'A ticket changed: priority, stage, chatter, assignee or tags.',
    args: { teamId: t.arg.id({ description: 'Only tickets of this team.' }), after: t.arg.string({ description: AFTER_DESCRIPTION }) },
    subscribe: (_root, args, ctx) => ctx.events.subscribe(ticketUpdated, { key: teamKey(args.teamId), after: args.after }),
    resolve: (edge) => edge,
  }),
}));

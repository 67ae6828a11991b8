import { GraphQLError } from 'graphql';
import { Agent } from '../auth/graphql.js';
import { findAgent, type AgentRow } from '../auth/service.js';
import { UserInputError } from '../errors.js';
import { builder } from '../graphql/builder.js';
import type { Context } from '../graphql/context.js';
import { loadInBatch } from '../graphql/batch.js';
import { idArgument } from '../graphql/global-id.js';
import { connectionTypeOptions, idOf, payloadType, requireIdOf, UserError, withUserErrors } from '../graphql/user-errors.js';
import { Team } from '../teams/graphql.js';
import { findTeam } from '../teams/service.js';
import { Ticket } from '../tickets/ticket-graphql.js';
import { findTicket } from '../tickets/service.js';
import { callerAgentId, canOperate, forbidden, isAdmin, isVisitorOf, visitorSessionId } from './graphql-access.js';
import { queuePositionOf, type LiveChatSessionRow } from './assignment.js';
import {
  addOperators,
  channelsOfTeams,
  findChannel,
  isChannelAvailable,
  operatorsOf,
  removeOperators,
  setOperatorStatus,
  updateChannel,
  type LiveChatChannelRow,
  type OperatorView,
} from './channels.js';
import { findMessage, messageCounts, messagesOf, sendChatMessage, type ChatActor, type ChatMessageRow } from './messages.js';
import { chatMessageStream, operatorSessionStream, seqCursor, typingStream, visitorSessionStream } from './graphql-streams.js';
import { publishTyping, type TypingEvent } from './typing.js';
import {
  closeLiveChat,
  findSession,
  rateLiveChat,
  ratingsOfChannel,
  ratingsOfSessions,
  satisfactionOfChannel,
  sessionsOfTickets,
  sessionsOfChannel,
  startLiveChat,
  ticketIdsOfSession,
  transferLiveChat,
  type LiveChatRatingRow,
} from './sessions.js';
import type { Satisfaction } from './rules.js';

// ---------------------------------------------------------------- access helpers

/** Fails unless the caller operates the channel (its operators and admins). */
async function requireOperator(ctx: Context, channelId: number, what: string): Promise<void> {
  if (!(await canOperate(ctx, channelId))) throw forbidden(`${what} is for the channel's operators and admins`);
}

/** Who the caller is on a session: its visitor, an operator of its channel, or nobody (null). */
async function actorOn(ctx: Context, session: LiveChatSessionRow): Promise<ChatActor | null> {
  if (isVisitorOf(ctx, session.id)) return { kind: 'VISITOR', sessionId: session.id };
  if (!(await canOperate(ctx, session.channelId))) return null;
  const agentId = callerAgentId(ctx);
  const agent = agentId === null ? undefined : await findAgent(ctx.db, agentId);
  return { kind: 'OPERATOR', agentId, name: agent?.name ?? (ctx.principal.kind === 'admin' ? ctx.principal.name : 'Operator') };
}

/**
 * Field scopes of what a session's visitor may call: staff (the resolver then asks for an
 * operator of the session's channel), or the visitor token of that very session.
 */
function staffOrVisitorOf(globalId: unknown) {
  return { agent: true, visitorOf: idOf(String(globalId), 'LiveChatSession') ?? 0 };
}

const NO_SESSION = () => new UserInputError([{ field: ['sessionId'], code: 'NOT_FOUND', message: 'No live chat session has this id.' }]);

/** The session named by an input, with the caller's part in it; NOT_FOUND also when the caller has none. */
async function sessionForActor(ctx: Context, globalId: string | number) {
  const id = requireIdOf(String(globalId), 'LiveChatSession', 'sessionId');
  const session = await findSession(ctx.db, id);
  const actor = session ? await actorOn(ctx, session) : null;
  if (!session || !actor) throw NO_SESSION();
  return { session, actor };
}

/** Visitors see an operator's name only. */
function agentFor(ctx: Context, agent: AgentRow | undefined): AgentRow | null {
  if (!agent) return null;
  return ctx.principal.kind === 'visitor' ? { ...agent, email: null } : agent;
}

const SEQ_CURSOR = /^seq:(\d{1,10})$/;

function seqOfCursor(cursor: string | null | undefined): number | null {
  if (cursor == null) return null;
  const match = SEQ_CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new GraphQLError('This cursor was not given out by this API.', { extensions: { code: 'INVALID_CURSOR' } });
  return Number(match[1]);
}

const idCursor = (id: number) => Buffer.from(`id:${id}`).toString('base64url');
function idOfCursor(cursor: string | null | undefined): number | null {
  if (cursor == null) return null;
  const match = /^id:(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new GraphQLError('This cursor was not given out by this API.', { extensions: { code: 'INVALID_CURSOR' } });
  return Number(match[1]);
}

function pageSize(first: number | null | undefined, fallback = 20): number {
  if (first == null) return fallback;
  if (first < 0 || first > 100) throw new GraphQLError('first must be 0 to 100.', { extensions: { code: 'INVALID_ARGUMENT' } });
  return first;
}

// ---------------------------------------------------------------- types

const LiveChatSessionStatus = builder.enumType('LiveChatSessionStatus', {
  description: 'Where a live chat session stands.',
  values: {
    WAITING: { description: 'In line: every online operator is at the cap of open sessions.' },
    OPEN: { description: 'Assigned to an operator; the conversation runs.' },
    CLOSED: { description: 'Ended by the visitor, the operator or inactivity; no new messages.' },
  } as const,
});

const ChatAuthorKind = builder.enumType('ChatAuthorKind', {
  description: 'Who wrote a chat message.',
  values: {
    VISITOR: { description: 'The website visitor.' },
    OPERATOR: { description: 'A support operator (also the welcome message).' },
    BOT: { description: 'A chatbot.' },
    SYSTEM: { description: 'Intake itself: who left, transfers, command answers.' },
  } as const,
});

const LiveChatRatingValue = builder.enumType('LiveChatRatingValue', {
  description: "A visitor's rating of a session (Odoo's 5 / 3 / 1).",
  values: {
    SATISFIED: { description: 'Happy with the help (5).' },
    OKAY: { description: 'Neutral (3).' },
    DISSATISFIED: { description: 'Unhappy (1).' },
  } as const,
});

export const LiveChatChannel = builder.objectRef<LiveChatChannelRow>('LiveChatChannel');
export const LiveChatSession = builder.objectRef<LiveChatSessionRow>('LiveChatSession');
export const ChatMessage = builder.objectRef<ChatMessageRow>('ChatMessage');
const LiveChatRating = builder.objectRef<LiveChatRatingRow>('LiveChatRating');

const LiveChatOperator = builder.objectRef<OperatorView>('LiveChatOperator').implement({
  description: 'An agent who answers the chats of a channel, with its state.',
  fields: (t) => ({
    agent: t.field({ type: Agent, description: 'The agent.', resolve: async (o, _args, ctx) => (await findAgent(ctx.db, o.agentId))! }),
    accepting: t.exposeBoolean('accepting', { description: 'Whether the agent said it takes chats (setOperatorStatus).' }),
    connected: t.exposeBoolean('connected', { description: 'Whether the agent has a liveChatSessionChanged subscription open on this channel, on any instance.' }),
    openSessions: t.exposeInt('openSessions', { description: 'Open sessions of this channel assigned to the agent.' }),
    languages: t.exposeStringList('languages', { description: 'Languages the agent speaks, as language tags.' }),
  }),
});

const LiveChatSatisfaction = builder.objectRef<Satisfaction>('LiveChatSatisfaction').implement({
  description: 'How rated sessions of a period went.',
  fields: (t) => ({
    percent: t.exposeFloat('percent', { nullable: true, description: 'Share of SATISFIED among rated sessions, in percent; null when none was rated.' }),
    rated: t.exposeInt('rated', { description: 'Rated sessions.' }),
    satisfied: t.exposeInt('satisfied', { description: 'Sessions rated SATISFIED.' }),
    okay: t.exposeInt('okay', { description: 'Sessions rated OKAY.' }),
    dissatisfied: t.exposeInt('dissatisfied', { description: 'Sessions rated DISSATISFIED.' }),
  }),
});

const ChatMessageAuthor = builder.objectRef<{ kind: ChatMessageRow['authorKind']; name: string }>('ChatMessageAuthor').implement({
  description: 'Who wrote a chat message.',
  fields: (t) => ({
    kind: t.field({ type: ChatAuthorKind, description: 'Visitor, operator, bot or system.', resolve: (a) => a.kind }),
    name: t.exposeString('name', { description: 'Name shown beside the message.' }),
  }),
});

builder.node(ChatMessage, {
  description: 'A message of a live chat session. Bodies are plain text, never HTML.',
  id: { resolve: (m) => m.id },
  loadOne: async (id, ctx) => {
    const message = await findMessage(ctx.db, Number(id));
    const session = message ? await findSession(ctx.db, message.sessionId) : undefined;
    if (!message || !session) return null;
    if (!(await canOperate(ctx, session.channelId))) throw forbidden("ChatMessage is for its channel's operators and admins");
    return message;
  },
  fields: (t) => ({
    body: t.exposeString('body', { description: 'The text as sent (control characters other than tab, CR and LF removed).' }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was committed.', resolve: (m) => m.createdAt }),
    operatorOnly: t.exposeBoolean('operatorOnly', { description: 'Seen by operators only (notes, commands and their answers).' }),
    clientMessageId: t.exposeString('clientMessageId', { nullable: true, description: "The sender's idempotency key, if it gave one." }),
    author: t.field({ type: ChatMessageAuthor, description: 'Who wrote it.', resolve: (m) => ({ kind: m.authorKind, name: m.authorName }) }),
  }),
});

const ChatMessageEdge = builder.edgeObject({ type: ChatMessage, name: 'ChatMessageEdge', description: 'A chat message and its cursor.' } as any);
const ChatMessageConnection = builder.connectionObject(
  { type: ChatMessage, name: 'ChatMessageConnection', ...connectionTypeOptions('A page of chat messages, oldest first.') },
  ChatMessageEdge as any,
);

const LiveChatSessionConnection = builder.connectionObject(
  { type: LiveChatSession, name: 'LiveChatSessionConnection', ...connectionTypeOptions('A page of live chat sessions, newest first.') },
  { name: 'LiveChatSessionEdge', description: 'A live chat session and its cursor.' },
);
const LiveChatRatingConnection = builder.connectionObject(
  { type: LiveChatRating, name: 'LiveChatRatingConnection', ...connectionTypeOptions('A page of the ratings log, newest first.') },
  { name: 'LiveChatRatingEdge', description: 'A rating and its cursor.' },
);

const LiveChatSessionFilter = builder.inputType('LiveChatSessionFilter', {
  description: 'Narrows a session list; all given conditions must hold.',
  fields: (t) => ({
    status: t.field({ type: LiveChatSessionStatus, description: 'Only sessions in this status.' }),
    operatorId: t.id({ description: 'Only sessions of this operator (an Agent ID).' }),
  }),
});

builder.node(LiveChatChannel, {
  description: "A team's live chat: its widget options, operators, sessions and ratings.",
  id: { resolve: (c) => c.id },
  loadOne: async (id, ctx) => {
    const channel = await findChannel(ctx.db, Number(id));
    if (!channel) return null;
    if (!(await canOperate(ctx, channel.id))) throw forbidden("LiveChatChannel is for the channel's operators and admins");
    return channel;
  },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name shown to visitors; the team name at creation.' }),
    team: t.field({
      type: Team,
      description: 'The team whose channel this is (operators and admins).',
      resolve: async (c, _args, ctx) => {
        await requireOperator(ctx, c.id, 'LiveChatChannel.team');
        return (await findTeam(ctx.db, c.teamId))!;
      },
    }),
    buttonText: t.exposeString('buttonText', { description: 'Text of the chat button.' }),
    welcomeMessage: t.exposeString('welcomeMessage', { description: 'First message of every assigned session, by the operator.' }),
    inputPlaceholder: t.exposeString('inputPlaceholder', { description: 'Placeholder of the message input.' }),
    headerBackgroundColor: t.exposeString('headerBackgroundColor', { description: 'Colour of the chat window header, #RRGGBB.' }),
    titleColor: t.exposeString('titleColor', { description: 'Colour of the header title, #RRGGBB.' }),
    buttonBackgroundColor: t.exposeString('buttonBackgroundColor', { description: 'Colour of the chat button, #RRGGBB.' }),
    buttonTextColor: t.exposeString('buttonTextColor', { description: 'Colour of the button text, #RRGGBB.' }),
    maxSessionsPerOperator: t.exposeInt('maxSessionsPerOperator', { nullable: true, description: 'Open sessions an operator takes at most; null for no cap.' }),
    available: t.boolean({
      description: 'Whether live chat is on and at least one operator is online (accepting and connected): a new visitor will reach someone.',
      resolve: (c, _args, ctx) => isChannelAvailable(ctx.db, c),
    }),
    operators: t.field({
      type: [LiveChatOperator],
      description: 'The operators, by agent id (a short list; operators and admins).',
      resolve: async (c, _args, ctx) => {
        await requireOperator(ctx, c.id, 'LiveChatChannel.operators');
        return operatorsOf(ctx.db, c.id);
      },
    }),
    sessions: t.field({
      type: LiveChatSessionConnection,
      description: 'Sessions of the channel, newest first (operators and admins).',
      args: {
        first: t.arg.int({ description: 'Page size: at most 100, 20 when left out.' }),
        after: t.arg.string({ description: 'Return sessions after this cursor.' }),
        filter: t.arg({ type: LiveChatSessionFilter, description: 'Conditions the sessions must meet.' }),
      },
      resolve: async (c, args, ctx) => {
        await requireOperator(ctx, c.id, 'LiveChatChannel.sessions');
        const operatorId = args.filter?.operatorId != null ? idArgument(args.filter.operatorId, 'Agent', ['filter', 'operatorId']) : null;
        const page = await sessionsOfChannel(ctx.db, c.id, { first: pageSize(args.first), afterId: idOfCursor(args.after), status: args.filter?.status ?? null, operatorId });
        return {
          edges: page.rows.map((s) => ({ cursor: idCursor(s.id), node: s })),
          pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: args.after != null, startCursor: page.rows[0] ? idCursor(page.rows[0].id) : null, endCursor: page.rows.at(-1) ? idCursor(page.rows.at(-1)!.id) : null },
          totalCount: page.totalCount,
        } as any;
      },
    }),
    satisfaction: t.field({
      type: LiveChatSatisfaction,
      description: 'Ratings of the last `days` days (operators and admins).',
      args: { days: t.arg.int({ defaultValue: 14, description: 'Length of the period in days, up to today: 1 to 3660.' }) },
      resolve: async (c, args, ctx) => {
        await requireOperator(ctx, c.id, 'LiveChatChannel.satisfaction');
        const days = args.days ?? 14;
        if (days < 1 || days > 3660) throw new GraphQLError('days must be 1 to 3660.', { extensions: { code: 'INVALID_ARGUMENT' } });
        return satisfactionOfChannel(ctx.db, c.id, days);
      },
    }),
    ratings: t.field({
      type: LiveChatRatingConnection,
      description: 'The ratings log, newest first (operators and admins).',
      args: { first: t.arg.int({ description: 'Page size: at most 100, 20 when left out.' }), after: t.arg.string({ description: 'Return ratings after this cursor.' }) },
      resolve: async (c, args, ctx) => {
        await requireOperator(ctx, c.id, 'LiveChatChannel.ratings');
        let after: { createdAt: Date; sessionId: number } | null = null;
        if (args.after != null) {
          const match = /^rating:(\d{1,15}):(\d{1,10})$/.exec(Buffer.from(args.after, 'base64url').toString());
          if (!match) throw new GraphQLError('This cursor was not given out by this API.', { extensions: { code: 'INVALID_CURSOR' } });
          after = { createdAt: new Date(Number(match[1])), sessionId: Number(match[2]) };
        }
        const page = await ratingsOfChannel(ctx.db, c.id, { first: pageSize(args.first), after });
        const cursor = (r: LiveChatRatingRow) => Buffer.from(`rating:${r.createdAt.getTime()}:${r.sessionId}`).toString('base64url');
        return {
          edges: page.rows.map((r) => ({ cursor: cursor(r), node: r })),
          pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: after !== null, startCursor: page.rows[0] ? cursor(page.rows[0]) : null, endCursor: page.rows.at(-1) ? cursor(page.rows.at(-1)!) : null },
          totalCount: page.totalCount,
        } as any;
      },
    }),
  }),
});

builder.node(LiveChatSession, {
  description: "A visitor's conversation on a channel. Its visitor reads it with the visitor token; operators and admins too.",
  id: { resolve: (s) => s.id },
  loadOne: async (id, ctx) => {
    const session = await findSession(ctx.db, Number(id));
    if (!session) return null;
    if (!(await canOperate(ctx, session.channelId))) throw forbidden("LiveChatSession is for its channel's operators and admins");
    return session;
  },
  fields: (t) => ({
    channel: t.field({ type: LiveChatChannel, description: 'The channel.', resolve: async (s, _args, ctx) => (await findChannel(ctx.db, s.channelId))! }),
    status: t.field({ type: LiveChatSessionStatus, description: 'Waiting, open or closed.', resolve: (s) => s.status }),
    queuePosition: t.int({ nullable: true, description: 'Place in the waiting line, 1 first; null unless WAITING.', resolve: (s, _args, ctx) => queuePositionOf(ctx.db, s) }),
    visitorName: t.exposeString('visitorName', { description: 'Name the visitor gave ("Visitor" when none).' }),
    visitorEmail: t.exposeString('visitorEmail', { nullable: true, description: 'Email the visitor gave, if any.' }),
    language: t.exposeString('language', { nullable: true, description: "The visitor's language tag." }),
    country: t.exposeString('country', { nullable: true, description: "The visitor's country code, when known." }),
    pageUrl: t.exposeString('pageUrl', { nullable: true, description: 'Page the chat started from.' }),
    operator: t.field({
      type: Agent,
      nullable: true,
      description: 'The operator answering; null while waiting. Visitors see the name only.',
      resolve: async (s, _args, ctx) => (s.operatorId === null ? null : agentFor(ctx, await findAgent(ctx.db, s.operatorId))),
    }),
    messageCount: t.int({
      description: 'Messages of the session the caller can see.',
      resolve: (s, _args, ctx) => {
        const staff = visitorSessionId(ctx) === null;
        return loadInBatch(ctx, `LiveChatSession.messageCount ${staff}`, s.id, async (ids: number[]) => {
          const counts = await messageCounts(ctx.db, ids, staff);
          return ids.map((id) => counts.get(id) ?? 0);
        });
      },
    }),
    rating: t.field({ type: LiveChatRating, nullable: true, description: "The visitor's rating, if given.", resolve: (s, _args, ctx) =>
        loadInBatch(ctx, 'LiveChatSession.rating', s.id, async (ids: number[]) => {
          const ratings = await ratingsOfSessions(ctx.db, ids);
          return ids.map((id) => ratings.get(id) ?? null);
        }),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When the visitor started it.', resolve: (s) => s.createdAt }),
    closedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was closed.', resolve: (s) => s.closedAt }),
    tickets: t.field({
      type: [Ticket],
      description: 'Tickets made from this chat with /helpdesk (operators and admins; a short list).',
      // One or two per chat: priced as one, not as a list of ten.
      complexity: { field: 1, multiplier: 1 },
      resolve: async (s, _args, ctx) => {
        await requireOperator(ctx, s.channelId, 'LiveChatSession.tickets');
        const ids = await ticketIdsOfSession(ctx.db, s.id);
        return (await Promise.all(ids.map((id) => findTicket(ctx.db, id)))).filter((x) => x !== undefined) as any;
      },
    }),
    messages: t.field({
      type: ChatMessageConnection,
      description: 'The messages, oldest first. Visitors never get operator-only ones.',
      args: {
        first: t.arg.int({ description: 'Page size from the start: at most 200.' }),
        after: t.arg.string({ description: 'Return messages after this cursor.' }),
        last: t.arg.int({ description: 'Page size from the end: at most 200.' }),
        before: t.arg.string({ description: 'Return messages before this cursor.' }),
      },
      resolve: async (s, args, ctx) => {
        const page = await messagesOf(ctx.db, s.id, {
          afterSeq: seqOfCursor(args.after),
          beforeSeq: seqOfCursor(args.before),
          first: args.first,
          last: args.last,
          includeOperatorOnly: visitorSessionId(ctx) === null,
        });
        const edges = page.messages.map((m) => ({ cursor: seqCursor(m.seq), node: m }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: async () => (await messageCounts(ctx.db, [s.id], visitorSessionId(ctx) === null)).get(s.id) ?? 0,
        } as any;
      },
    }),
  }),
});

LiveChatRating.implement({
  description: "A visitor's rating of a session.",
  fields: (t) => ({
    rating: t.field({ type: LiveChatRatingValue, description: 'The rating.', resolve: (r) => r.rating }),
    comment: t.exposeString('comment', { nullable: true, description: "The visitor's comment." }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was given (or last replaced).', resolve: (r) => r.createdAt }),
    operator: t.field({ type: Agent, nullable: true, description: 'The operator of the session when it was rated.', resolve: async (r, _args, ctx) => (r.operatorId === null ? null : agentFor(ctx, await findAgent(ctx.db, r.operatorId))) }),
    session: t.field({ type: LiveChatSession, description: 'The session rated.', resolve: async (r, _args, ctx) => (await findSession(ctx.db, r.sessionId))! }),
  }),
});

builder.drizzleObjectFields(Team, (t) => ({
  liveChatChannel: t.field({
    type: LiveChatChannel,
    nullable: true,
    description: "The team's live chat channel, kept while live chat is off; null until it was first switched on.",
    resolve: (team, _args, ctx) =>
      loadInBatch(ctx, 'Team.liveChatChannel', team.id, async (ids: number[]) => {
        const channels = new Map((await channelsOfTeams(ctx.db, ids)).map((channel) => [channel.teamId, channel]));
        return ids.map((id) => channels.get(id) ?? null);
      }),
  }),
}));

builder.drizzleObjectFields(Ticket, (t) => ({
  liveChatSession: t.field({
    type: LiveChatSession,
    nullable: true,
    description: 'The chat the ticket was made from with /helpdesk, if any.',
    resolve: (ticket, _args, ctx) =>
      loadInBatch(ctx, 'Ticket.liveChatSession', ticket.id, async (ids: number[]) => {
        const sessions = await sessionsOfTickets(ctx.db, ids);
        return ids.map((id) => sessions.get(id) ?? null);
      }),
  }),
}));

// ---------------------------------------------------------------- queries

builder.queryFields((t) => ({
  liveChatChannel: t.field({
    type: LiveChatChannel,
    nullable: true,
    description: 'One live chat channel by ID (admins and its operators), or null.',
    args: { id: t.arg.id({ required: true, description: 'Global ID of the channel.' }) },
    resolve: async (_root, args, ctx) => {
      const channel = await findChannel(ctx.db, idArgument(args.id, 'LiveChatChannel', ['id']));
      if (!channel) return null;
      await requireOperator(ctx, channel.id, 'Query.liveChatChannel');
      return channel;
    },
  }),
  liveChatSession: t.field({
    type: LiveChatSession,
    nullable: true,
    skipTypeScopes: true,
    authScopes: (_root, args) => staffOrVisitorOf(args.id),
    description: "One live chat session by ID: for its visitor (visitor token), the channel's operators and admins.",
    args: { id: t.arg.id({ required: true, description: 'Global ID of the session.' }) },
    resolve: async (_root, args, ctx) => {
      const session = await findSession(ctx.db, idArgument(args.id, 'LiveChatSession', ['id']));
      if (session && (await actorOn(ctx, session))) return session;
      if (ctx.principal.kind === 'anonymous') {
        throw new GraphQLError('Authentication required for Query.liveChatSession: send "Authorization: Bearer <token>".', { extensions: { code: 'UNAUTHENTICATED' } });
      }
      if (session) throw forbidden('this session belongs to someone else');
      return null;
    },
  }),
}));

// ---------------------------------------------------------------- mutations

const UpdateLiveChatChannelInput = builder.inputType('UpdateLiveChatChannelInput', {
  description: "Changes to a channel's name and widget options; fields left out stay as they are.",
  fields: (t) => ({
    channelId: t.id({ required: true, description: 'The channel.' }),
    name: t.string({ description: 'New name, at most 120 characters.' }),
    buttonText: t.string({ description: 'Text of the chat button.' }),
    welcomeMessage: t.string({ description: 'First message of every assigned session.' }),
    inputPlaceholder: t.string({ description: 'Placeholder of the message input.' }),
    headerBackgroundColor: t.string({ description: 'Header colour, #RRGGBB.' }),
    titleColor: t.string({ description: 'Title colour, #RRGGBB.' }),
    buttonBackgroundColor: t.string({ description: 'Button colour, #RRGGBB.' }),
    buttonTextColor: t.string({ description: 'Button text colour, #RRGGBB.' }),
    resetColors: t.boolean({ description: 'Put the four colours back to their defaults (colours given alongside still apply).' }),
    maxSessionsPerOperator: t.int({ description: 'Cap of open sessions per operator, 1 to 1000; null removes the cap.' }),
  }),
});

const ChannelInput = (name: string, description: string) =>
  builder.inputType(name, { description, fields: (t) => ({ channelId: t.id({ required: true, description: 'The channel.' }) }) });
const OperatorsInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      channelId: t.id({ required: true, description: 'The channel.' }),
      agentIds: t.idList({ required: true, description: 'Agents, at most 100.' }),
    }),
  });

const ChannelPayload = (name: string, description: string) =>
  payloadType<LiveChatChannelRow, 'channel'>(name, description, 'channel', LiveChatChannel, 'The channel, when the mutation succeeded.');
const SessionPayload = (name: string, description: string) =>
  payloadType<LiveChatSessionRow, 'session'>(name, description, 'session', LiveChatSession, 'The session, when the mutation succeeded.');

const SetOperatorStatusInput = builder.inputType('SetOperatorStatusInput', {
  description: 'Whether the calling agent takes chats, and the languages it speaks.',
  fields: (t) => ({
    accepting: t.boolean({ required: true, description: 'true to take chats (while connected), false to stop.' }),
    languages: t.stringList({ description: 'Language tags such as "en" or "fr-BE"; left out keeps the current ones.' }),
  }),
});

const StartLiveChatInput = builder.inputType('StartLiveChatInput', {
  description: 'A visitor starts a chat.',
  fields: (t) => ({
    channelId: t.id({ required: true, description: 'The channel.' }),
    visitorName: t.string({ description: 'Name shown to the operator, at most 120 characters ("Visitor" when left out).' }),
    visitorEmail: t.string({ description: 'Email, for the ticket and replies.' }),
    pageUrl: t.string({ description: 'The page the visitor is on.' }),
    language: t.string({ description: 'Language tag, e.g. "fr-BE".' }),
    previousSessionKey: t.string({ description: 'sessionKey of an earlier chat: the same operator is preferred.' }),
  }),
});

interface StartShape {
  session?: LiveChatSessionRow;
  visitorToken?: string;
  sessionKey?: string;
  userErrors: (typeof UserError.$inferType)[];
}
const StartLiveChatPayload = builder.objectRef<StartShape>('StartLiveChatPayload').implement({
  description: 'The new session, and the secrets the visitor keeps.',
  fields: (t) => ({
    session: t.field({ type: LiveChatSession, nullable: true, description: 'The session, WAITING or OPEN.', resolve: (p) => p.session ?? null }),
    visitorToken: t.string({ nullable: true, description: 'Bearer token for this session only; shown once.', resolve: (p) => p.visitorToken ?? null }),
    sessionKey: t.string({ nullable: true, description: 'Key the browser keeps, given back as previousSessionKey next time.', resolve: (p) => p.sessionKey ?? null }),
    userErrors: t.field({ type: [UserError], description: 'Why no session started (NO_OPERATOR_AVAILABLE, CHANNEL_UNAVAILABLE, RATE_LIMITED …).', resolve: (p) => p.userErrors }),
  }),
});

const SendChatMessageInput = builder.inputType('SendChatMessageInput', {
  description: 'A chat message from the visitor or an operator.',
  fields: (t) => ({
    sessionId: t.id({ required: true, description: 'The session.' }),
    body: t.string({ required: true, description: 'Plain text, at most LIVECHAT_MAX_MESSAGE_CHARS characters.' }),
    clientMessageId: t.string({ description: 'Idempotency key chosen by the sender: a retry returns the stored message.' }),
    operatorOnly: t.boolean({ description: 'Operators only: a note the visitor never receives.' }),
  }),
});
const SetChatTypingInput = builder.inputType('SetChatTypingInput', {
  description: 'Typing indicator of the caller on a session.',
  fields: (t) => ({
    sessionId: t.id({ required: true, description: 'The session.' }),
    typing: t.boolean({ required: true, description: 'Whether the caller is typing.' }),
  }),
});
const SessionInput = (name: string, description: string) =>
  builder.inputType(name, { description, fields: (t) => ({ sessionId: t.id({ required: true, description: 'The session.' }) }) });
const TransferLiveChatInput = builder.inputType('TransferLiveChatInput', {
  description: 'Hands a session to another operator.',
  fields: (t) => ({
    sessionId: t.id({ required: true, description: 'The session.' }),
    agentId: t.id({ required: true, description: 'An online operator of the channel.' }),
  }),
});
const RateLiveChatInput = builder.inputType('RateLiveChatInput', {
  description: "The visitor's rating of its session.",
  fields: (t) => ({
    sessionId: t.id({ required: true, description: 'The session.' }),
    rating: t.field({ type: LiveChatRatingValue, required: true, description: 'The rating.' }),
    comment: t.string({ description: 'An optional comment, at most 2000 characters.' }),
  }),
});

const TypingPayload = builder.objectRef<{ userErrors: (typeof UserError.$inferType)[] }>('SetChatTypingPayload').implement({
  description: 'Result of setChatTyping.',
  fields: (t) => ({ userErrors: t.field({ type: [UserError], description: 'Why nothing was sent; empty on success.', resolve: (p) => p.userErrors }) }),
});

function channelIdOf(globalId: string | number): number {
  return requireIdOf(String(globalId), 'LiveChatChannel', 'channelId');
}

function agentIdsOf(ids: (string | number)[]): number[] {
  if (ids.length > 100) throw new UserInputError([{ field: ['agentIds'], code: 'TOO_MANY', message: 'agentIds may list at most 100 agents.' }]);
  return ids.map((id) => requireIdOf(String(id), 'Agent', 'agentIds'));
}

function requireCallerAgent(ctx: Context): number {
  const agentId = callerAgentId(ctx);
  if (agentId === null) throw new UserInputError([{ field: null, code: 'NOT_AN_AGENT', message: 'Only a token bound to an agent can do this.' }]);
  return agentId;
}

builder.mutationFields((t) => ({
  updateLiveChatChannel: t.field({
    type: ChannelPayload('UpdateLiveChatChannelPayload', 'Result of updateLiveChatChannel.'),
    authScopes: { admin: true },
    description: "Renames a channel or changes its widget options (admins).",
    args: { input: t.arg({ type: UpdateLiveChatChannelInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        channel: await updateChannel(ctx.db, {
          ...input,
          channelId: channelIdOf(input.channelId),
          maxSessionsPerOperator: 'maxSessionsPerOperator' in input ? input.maxSessionsPerOperator : undefined,
        }),
      })),
  }),
  addLiveChatOperators: t.field({
    type: ChannelPayload('AddLiveChatOperatorsPayload', 'Result of addLiveChatOperators.'),
    authScopes: { admin: true },
    description: 'Makes agents operators of a channel (admins).',
    args: { input: t.arg({ type: OperatorsInput('AddLiveChatOperatorsInput', 'Channel and agents to add.'), required: true, description: 'Channel and agents.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ channel: await addOperators(ctx.db, channelIdOf(input.channelId), agentIdsOf(input.agentIds)) })),
  }),
  removeLiveChatOperators: t.field({
    type: ChannelPayload('RemoveLiveChatOperatorsPayload', 'Result of removeLiveChatOperators.'),
    authScopes: { admin: true },
    description: 'Removes operators from a channel (admins); their open sessions stay theirs.',
    args: { input: t.arg({ type: OperatorsInput('RemoveLiveChatOperatorsInput', 'Channel and agents to remove.'), required: true, description: 'Channel and agents.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ channel: await removeOperators(ctx.db, channelIdOf(input.channelId), agentIdsOf(input.agentIds)) })),
  }),
  joinLiveChatChannel: t.field({
    type: ChannelPayload('JoinLiveChatChannelPayload', 'Result of joinLiveChatChannel.'),
    description: 'The calling agent becomes an operator of a channel.',
    args: { input: t.arg({ type: ChannelInput('JoinLiveChatChannelInput', 'The channel to join.'), required: true, description: 'The channel.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ channel: await addOperators(ctx.db, channelIdOf(input.channelId), [requireCallerAgent(ctx)]) })),
  }),
  leaveLiveChatChannel: t.field({
    type: ChannelPayload('LeaveLiveChatChannelPayload', 'Result of leaveLiveChatChannel.'),
    description: 'The calling agent stops being an operator of a channel.',
    args: { input: t.arg({ type: ChannelInput('LeaveLiveChatChannelInput', 'The channel to leave.'), required: true, description: 'The channel.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ channel: await removeOperators(ctx.db, channelIdOf(input.channelId), [requireCallerAgent(ctx)]) })),
  }),
  setOperatorStatus: t.field({
    type: payloadType<AgentRow, 'agent'>('SetOperatorStatusPayload', 'Result of setOperatorStatus.', 'agent', Agent, 'The calling agent.'),
    description: 'The calling agent says whether it takes chats, and which languages it speaks.',
    args: { input: t.arg({ type: SetOperatorStatusInput, required: true, description: 'Status and languages.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const agentId = requireCallerAgent(ctx);
        await setOperatorStatus(ctx.db, agentId, { accepting: input.accepting, languages: input.languages });
        return { agent: (await findAgent(ctx.db, agentId))! };
      }),
  }),
  startLiveChat: t.field({
    type: StartLiveChatPayload,
    skipTypeScopes: true,
    description: 'A visitor starts a chat (public). Keep visitorToken for this session and sessionKey for the next.',
    args: { input: t.arg({ type: StartLiveChatInput, required: true, description: 'Channel and visitor.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(() =>
        startLiveChat(ctx.db, ctx.config.liveChat, {
          ...input,
          channelId: requireIdOf(String(input.channelId), 'LiveChatChannel', 'channelId'),
          clientAddress: ctx.client.clientAddress,
        }),
      ) as Promise<StartShape>,
  }),
  sendChatMessage: t.field({
    type: payloadType<ChatMessageRow, 'message'>('SendChatMessagePayload', 'Result of sendChatMessage.', 'message', ChatMessage, 'The stored message.'),
    skipTypeScopes: true,
    authScopes: (_root, { input }) => staffOrVisitorOf(input.sessionId),
    description: 'The visitor (visitor token) or an operator writes in a session. Operators\' "/…" messages are commands.',
    args: { input: t.arg({ type: SendChatMessageInput, required: true, description: 'Session and text.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const { session, actor } = await sessionForActor(ctx, input.sessionId);
        return { message: await sendChatMessage(ctx.db, ctx.config.liveChat, actor, { ...input, sessionId: session.id }) };
      }),
  }),
  setChatTyping: t.field({
    type: TypingPayload,
    skipTypeScopes: true,
    authScopes: (_root, { input }) => staffOrVisitorOf(input.sessionId),
    description: 'Tells the other side the caller is typing (or stopped); nothing is stored.',
    args: { input: t.arg({ type: SetChatTypingInput, required: true, description: 'Session and state.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const { session, actor } = await sessionForActor(ctx, input.sessionId);
        const event: TypingEvent = {
          sessionId: session.id,
          authorKind: actor.kind,
          name: actor.kind === 'VISITOR' ? session.visitorName : actor.name,
          typing: input.typing,
        };
        await publishTyping(ctx.db, event);
        return {};
      }),
  }),
  closeLiveChat: t.field({
    type: SessionPayload('CloseLiveChatPayload', 'Result of closeLiveChat.'),
    skipTypeScopes: true,
    authScopes: (_root, { input }) => staffOrVisitorOf(input.sessionId),
    description: 'The visitor or an operator ends the conversation.',
    args: { input: t.arg({ type: SessionInput('CloseLiveChatInput', 'The session to close.'), required: true, description: 'The session.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const { session, actor } = await sessionForActor(ctx, input.sessionId);
        return { session: await closeLiveChat(ctx.db, actor, session.id) };
      }),
  }),
  transferLiveChat: t.field({
    type: SessionPayload('TransferLiveChatPayload', 'Result of transferLiveChat.'),
    description: "The session's operator or an admin hands the session to another online operator of the channel.",
    args: { input: t.arg({ type: TransferLiveChatInput, required: true, description: 'Session and operator.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        // Both IDs are checked before any lookup, so a malformed one is named whatever the session.
        const agentId = requireIdOf(String(input.agentId), 'Agent', 'agentId');
        const { session, actor } = await sessionForActor(ctx, input.sessionId);
        if (actor.kind !== 'OPERATOR') throw NO_SESSION();
        return { session: await transferLiveChat(ctx.db, { agentId: actor.agentId, name: actor.name, admin: isAdmin(ctx) }, { sessionId: session.id, agentId }) };
      }),
  }),
  rateLiveChat: t.field({
    type: SessionPayload('RateLiveChatPayload', 'Result of rateLiveChat.'),
    skipTypeScopes: true,
    authScopes: (_root, { input }) => staffOrVisitorOf(input.sessionId),
    description: 'The visitor rates its session; a new rating replaces the old one.',
    args: { input: t.arg({ type: RateLiveChatInput, required: true, description: 'Session and rating.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const id = requireIdOf(String(input.sessionId), 'LiveChatSession', 'sessionId');
        if (!isVisitorOf(ctx, id)) throw NO_SESSION();
        return { session: await rateLiveChat(ctx.db, { sessionId: id, rating: input.rating, comment: input.comment }) };
      }),
  }),
}));

// ---------------------------------------------------------------- subscriptions

/** The session a subscription names, if the caller is its visitor or operates its channel. */
async function subscribableSession(ctx: Context, globalId: string | number): Promise<{ session: LiveChatSessionRow; visitor: boolean }> {
  const session = await findSession(ctx.db, idArgument(globalId, 'LiveChatSession', ['sessionId']));
  const actor = session ? await actorOn(ctx, session) : null;
  if (!session || !actor) throw forbidden('subscribe to a session that is yours (visitor token) or of your channel');
  return { session, visitor: actor.kind === 'VISITOR' };
}

interface TypingShape {
  sessionId: number;
  authorKind: 'VISITOR' | 'OPERATOR';
  name: string;
  typing: boolean;
}

const ChatTypingEvent = builder.objectRef<TypingShape>('ChatTypingEvent').implement({
  description: 'Someone started or stopped typing in a session.',
  fields: (t) => ({
    sessionId: t.id({ description: 'Global ID of the session.', resolve: (e) => Buffer.from(`LiveChatSession:${e.sessionId}`).toString('base64') }),
    authorKind: t.field({ type: ChatAuthorKind, description: 'Visitor or operator.', resolve: (e) => e.authorKind }),
    name: t.exposeString('name', { description: 'Name of who is typing.' }),
    typing: t.exposeBoolean('typing', { description: 'true while typing.' }),
  }),
});

builder.subscriptionFields((t) => ({
  chatMessageAdded: t.field({
    type: ChatMessageEdge as any,
    skipTypeScopes: true,
    authScopes: (_root, args) => staffOrVisitorOf(args.sessionId),
    description: 'Messages of a session after the cursor (from the first when `after` is absent), then live ones, each exactly once. Visitors never get operator-only messages.',
    args: {
      sessionId: t.arg.id({ required: true, description: 'The session.' }),
      after: t.arg.string({ description: 'Cursor of the last message received: resume after it.' }),
    },
    subscribe: async (_root, args, ctx) => {
      const { session, visitor } = await subscribableSession(ctx, args.sessionId);
      return chatMessageStream(ctx, session.id, seqOfCursor(args.after) ?? 0, visitor);
    },
    resolve: (edge: any) => edge,
  }),
  chatTyping: t.field({
    type: ChatTypingEvent,
    skipTypeScopes: true,
    authScopes: (_root, args) => staffOrVisitorOf(args.sessionId),
    description: 'Typing indicators of a session, live only.',
    args: { sessionId: t.arg.id({ required: true, description: 'The session.' }) },
    subscribe: async (_root, args, ctx) => {
      const { session } = await subscribableSession(ctx, args.sessionId);
      return typingStream(ctx, session.id);
    },
    resolve: (event: TypingShape) => event,
  }),
  liveChatSessionChanged: t.field({
    type: LiveChatSession,
    skipTypeScopes: true,
    authScopes: (_root, args) => (args.sessionId != null ? staffOrVisitorOf(args.sessionId) : { agent: true }),
    description: "Session changes. With channelId: the channel's sessions, for its operators (and it marks the operator connected). With sessionId: that session, for its visitor.",
    args: {
      channelId: t.arg.id({ description: 'A channel you operate.' }),
      sessionId: t.arg.id({ description: 'Your session (visitor token).' }),
    },
    subscribe: async (_root, args, ctx) => {
      if ((args.channelId == null) === (args.sessionId == null)) {
        throw new GraphQLError('Give exactly one of channelId and sessionId.', { extensions: { code: 'INVALID_ARGUMENT' } });
      }
      if (args.channelId != null) {
        const channel = await findChannel(ctx.db, idArgument(args.channelId, 'LiveChatChannel', ['channelId']));
        if (!channel || !(await canOperate(ctx, channel.id))) throw forbidden("liveChatSessionChanged(channelId) is for the channel's operators and admins");
        return operatorSessionStream(ctx, channel.id, callerAgentId(ctx));
      }
      const { session } = await subscribableSession(ctx, args.sessionId!);
      return visitorSessionStream(ctx, session);
    },
    resolve: (session: LiveChatSessionRow) => session,
  }),
}));

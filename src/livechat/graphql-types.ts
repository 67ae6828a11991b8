import { isStaff } from '../auth/principal.js';
import { idArgument } from '../graphql/global-id.js';
import { GraphQLError } from 'graphql';
import { Agent } from '../auth/graphql.js';
import { findAgent } from '../auth/service.js';
import { builder } from '../graphql/builder.js';
import { loadInBatch } from '../graphql/batch.js';
import { connectionTypeOptions } from '../graphql/user-errors.js';
import { Team } from '../teams/graphql.js';
import { findTeam } from '../teams/service.js';
import { Ticket } from '../tickets/ticket-graphql.js';
import { findTicket } from '../tickets/service.js';
import { actorOn, agentFor, canOperate, forbidden, requireOperator, staffOrVisitorOf, visitorSessionId } from './graphql-access.js';
import { queuePositionOf, type LiveChatSessionRow } from './assignment.js';
import { channelsOfTeams, findChannel, isChannelAvailable, operatorsOf, type LiveChatChannelRow, type OperatorView } from './channels.js';
import { findMessage, messageCounts, messagesOf, type ChatMessageRow } from './messages.js';
import { findSession, ratingsOfChannel, ratingsOfSessions, satisfactionOfChannel, sessionsOfTickets, sessionsOfChannel, ticketIdsOfSession, type LiveChatRatingRow } from './sessions.js';
import type { Satisfaction } from './rules.js';

/** The live chat's GraphQL types, their fields and the queries that reach them. */

// ---------------------------------------------------------------- cursors

/** Opaque cursor of a chat message: its seq within the session. */
export function seqCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

const SEQ_CURSOR = /^seq:(\d{1,10})$/;

export function seqOfCursor(cursor: string | null | undefined): number | null {
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

export const ChatAuthorKind = builder.enumType('ChatAuthorKind', {
  description: 'Who wrote a chat message.',
  values: {
    VISITOR: { description: 'The website visitor.' },
    OPERATOR: { description: 'A support operator (also the welcome message).' },
    BOT: { description: 'A chatbot.' },
    SYSTEM: { description: 'Intake itself: who left, transfers, command answers.' },
  } as const,
});

export const LiveChatRatingValue = builder.enumType('LiveChatRatingValue', {
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
    clientMessageId: t.string({
      nullable: true,
      description: "The sender's idempotency key, if it gave one; a visitor sees only its own (null on others' messages).",
      resolve: (m, _args, ctx) => (isStaff(ctx.principal) || (ctx.principal.kind === 'visitor' && m.authorKind === 'VISITOR') ? m.clientMessageId : null),
    }),
    author: t.field({ type: ChatMessageAuthor, description: 'Who wrote it.', resolve: (m) => ({ kind: m.authorKind, name: m.authorName }) }),
  }),
});

export const ChatMessageEdge = builder.edgeObject({ type: ChatMessage, name: 'ChatMessageEdge', description: 'A chat message and its cursor.' } as any);
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

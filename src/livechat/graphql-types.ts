import { GraphQLError } from 'graphql';
import { Agent } from '../auth/graphql.js';
import { isStaff } from '../auth/principal.js';
import { findAgents, type AgentRow } from '../auth/service.js';
import { builder } from '../graphql/builder.js';
import { loadInBatch } from '../graphql/batch.js';
import type { Context } from '../graphql/context.js';
import { idArgument } from '../graphql/global-id.js';
import { connectionTypeOptions, withCursorErrors } from '../graphql/user-errors.js';
import { Team } from '../teams/graphql.js';
import { findTeams } from '../teams/service.js';
import { Ticket } from '../tickets/ticket-graphql.js';
import { findTickets } from '../tickets/service.js';
import { actorOn, canOperate, forbidden, isVisitorOf, requireOperator, staffOrVisitorOf, startedInThisRequest, visitorSessionGone } from './graphql-access.js';
import { queuePositionsOfChannels } from './assignment.js';
import type { LiveChatSessionRow } from './tables.js';
import { availableChannelIds, channelsOfTeams, findChannel, findChannels, operatorsOf, type LiveChatChannelRow, type OperatorView } from './channels.js';
import { findMessage, messageCounts, messageKeyset, messagesOf, type ChatMessageRow } from './messages.js';
import {
  findSession,
  findSessions,
  ratingCursor,
  ratingsOfChannel,
  ratingsOfSessions,
  satisfactionOfChannel,
  sessionCursor,
  sessionsOfTickets,
  sessionsOfChannel,
  ticketIdsOfSessions,
  type LiveChatRatingRow,
} from './sessions.js';
import type { Satisfaction } from './rules.js';

/** The live chat's GraphQL types, their fields and the queries that reach them. */

// ---------------------------------------------------------------- cursors and batches

/** Opaque cursor of a chat message: its seq within the session. */
export const seqCursor = (seq: number) => messageKeyset.cursorOf({ seq });

/** The seq a message cursor names; one this API did not give out (or out of range) fails with INVALID_CURSOR. */
export function seqOfCursor(cursor: string | null | undefined, field: string): number | null {
  return cursor == null ? null : messageKeyset.keyOf(cursor, field).seq;
}

/** An agent by id, batched across the request's level of the query. */
function agentById(ctx: Context, id: number): Promise<AgentRow | null> {
  return loadInBatch(ctx, 'livechat agent', id, async (ids: number[]) => {
    const agents = new Map((await findAgents(ctx.db, ids)).map((agent) => [agent.id, agent]));
    return ids.map((key) => agents.get(key) ?? null);
  });
}

function channelById(ctx: Context, id: number): Promise<LiveChatChannelRow | null> {
  return loadInBatch(ctx, 'livechat channel', id, async (ids: number[]) => {
    const channels = new Map((await findChannels(ctx.db, ids)).map((channel) => [channel.id, channel]));
    return ids.map((key) => channels.get(key) ?? null);
  });
}

function sessionById(ctx: Context, id: number): Promise<LiveChatSessionRow | null> {
  return loadInBatch(ctx, 'livechat session', id, async (ids: number[]) => {
    const sessions = new Map((await findSessions(ctx.db, ids)).map((session) => [session.id, session]));
    return ids.map((key) => sessions.get(key) ?? null);
  });
}

/** A connection from a page of rows and the cursor of a row. */
function connectionOf<R>(page: { rows: R[]; hasNextPage: boolean; hasPreviousPage: boolean; totalCount: () => Promise<number> }, cursorOf: (row: R) => string) {
  const edges = page.rows.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: page.totalCount,
  };
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
    agent: t.field({ type: Agent, description: 'The agent.', resolve: async (o, _args, ctx) => (await agentById(ctx, o.agentId))! }),
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
    createdAt: t.field({ type: 'DateTime', description: "When it was written (its transaction's start): close to its commit, but messages are ordered by their cursor, not by this time.", resolve: (m) => m.createdAt }),
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
    test: t.boolean({ description: 'true: only the test sessions of testChatbotScript; otherwise they are left out.' }),
    chatbot: t.boolean({ description: 'true: only sessions that opened with a chatbot; false: only those that did not.' }),
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
      authScopes: (c) => ({ operatorOf: c.id }),
      resolve: (c, _args, ctx) =>
        loadInBatch(ctx, 'LiveChatChannel.team', c.teamId, async (ids: number[]) => {
          const teams = new Map((await findTeams(ctx.db, ids)).map((team) => [team.id, team]));
          return ids.map((id) => teams.get(id)!);
        }),
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
      resolve: (c, _args, ctx) => loadInBatch(ctx, 'LiveChatChannel.available', c.id, async (ids: number[]) => {
        const available = await availableChannelIds(ctx.db, ids);
        return ids.map((id) => available.has(id));
      }),
    }),
    operators: t.field({
      type: [LiveChatOperator],
      description: 'The operators, by agent id (a short list; operators and admins).',
      authScopes: (c) => ({ operatorOf: c.id }),
      resolve: (c, _args, ctx) => operatorsOf(ctx.db, c.id),
    }),
    sessions: t.field({
      type: LiveChatSessionConnection,
      description: 'Sessions of the channel, newest first (operators and admins); test sessions (testChatbotScript) only when the filter asks for them.',
      args: {
        first: t.arg.int({ description: 'Page size: at most 100, 20 when left out.' }),
        after: t.arg.string({ description: 'Return sessions after this cursor.' }),
        filter: t.arg({ type: LiveChatSessionFilter, description: 'Conditions the sessions must meet.' }),
      },
      authScopes: (c) => ({ operatorOf: c.id }),
      resolve: (c, args, ctx) =>
        withCursorErrors(async () => {
          const operatorId = args.filter?.operatorId != null ? idArgument(args.filter.operatorId, 'Agent', ['filter', 'operatorId']) : null;
          const page = await sessionsOfChannel(ctx.db, c.id, {
            first: args.first,
            after: args.after,
            status: args.filter?.status ?? null,
            operatorId,
            test: args.filter?.test ?? null,
            chatbot: args.filter?.chatbot ?? null,
          });
          return connectionOf(page, sessionCursor) as any;
        }),
    }),
    satisfaction: t.field({
      type: LiveChatSatisfaction,
      description: 'Ratings of the last `days` days (operators and admins); test sessions do not count.',
      args: { days: t.arg.int({ defaultValue: 14, description: 'Length of the period in days, up to today: 1 to 3660.' }) },
      authScopes: (c) => ({ operatorOf: c.id }),
      resolve: async (c, args, ctx) => {
        const days = args.days ?? 14;
        if (days < 1 || days > 3660) throw new GraphQLError('days must be 1 to 3660.', { extensions: { code: 'BAD_USER_INPUT' } });
        return satisfactionOfChannel(ctx.db, c.id, days);
      },
    }),
    ratings: t.field({
      type: LiveChatRatingConnection,
      description: 'The ratings log, newest first (operators and admins); test sessions are left out.',
      args: { first: t.arg.int({ description: 'Page size: at most 100, 20 when left out.' }), after: t.arg.string({ description: 'Return ratings after this cursor.' }) },
      authScopes: (c) => ({ operatorOf: c.id }),
      resolve: (c, args, ctx) => withCursorErrors(async () => connectionOf(await ratingsOfChannel(ctx.db, c.id, { first: args.first, after: args.after }), ratingCursor) as any),
    }),
  }),
});

builder.node(LiveChatSession, {
  description: "A visitor's conversation on a channel. Its visitor reads it with the visitor token; operators and admins too.",
  // Wherever a session is reached (a ticket, a rating, a payload), only these callers read it.
  authScopes: (s, ctx) => startedInThisRequest(ctx, s.id) || { operatorOf: s.channelId, visitorOf: s.id },
  id: { resolve: (s) => s.id },
  loadOne: async (id, ctx) => {
    const session = await findSession(ctx.db, Number(id));
    if (!session) return null;
    if (!(await canOperate(ctx, session.channelId))) throw forbidden("LiveChatSession is for its channel's operators and admins");
    return session;
  },
  fields: (t) => ({
    channel: t.field({ type: LiveChatChannel, description: 'The channel.', resolve: async (s, _args, ctx) => (await channelById(ctx, s.channelId))! }),
    status: t.field({ type: LiveChatSessionStatus, description: 'Waiting, open or closed.', resolve: (s) => s.status }),
    queuePosition: t.int({ nullable: true, description: 'Place in the waiting line, 1 first; null unless WAITING.', resolve: (s, _args, ctx) =>
        s.status !== 'WAITING'
          ? null
          : loadInBatch(ctx, 'LiveChatSession.queuePosition', s, async (sessions: LiveChatSessionRow[]) => {
              const positions = await queuePositionsOfChannels(ctx.db, sessions.map((session) => session.channelId));
              return sessions.map((session) => positions.get(session.id) ?? null);
            }),
    }),
    visitorName: t.exposeString('visitorName', { description: 'Name the visitor gave ("Visitor" when none).' }),
    visitorEmail: t.exposeString('visitorEmail', { nullable: true, description: 'Email the visitor gave, if any.' }),
    language: t.exposeString('language', { nullable: true, description: "The visitor's language tag." }),
    country: t.exposeString('country', { nullable: true, description: "The visitor's country code, when known." }),
    pageUrl: t.exposeString('pageUrl', { nullable: true, description: 'Page the chat started from.' }),
    operator: t.field({
      type: Agent,
      nullable: true,
      description: 'The operator answering; null while waiting. Visitors see the name only.',
      resolve: (s, _args, ctx) => (s.operatorId === null ? null : agentById(ctx, s.operatorId)),
    }),
    messageCount: t.int({
      description: 'Messages of the session the caller can see.',
      resolve: (s, _args, ctx) => {
        const staff = isStaff(ctx.principal);
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
      authScopes: (s) => ({ operatorOf: s.channelId }),
      resolve: (s, _args, ctx) =>
        loadInBatch(ctx, 'LiveChatSession.tickets', s.id, async (sessionIds: number[]) => {
          const ticketIds = await ticketIdsOfSessions(ctx.db, sessionIds);
          const tickets = new Map((await findTickets(ctx.db, [...ticketIds.values()].flat())).map((ticket) => [ticket.id, ticket]));
          return sessionIds.map((id) => (ticketIds.get(id) ?? []).flatMap((ticketId) => tickets.get(ticketId) ?? []));
        }) as any,
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
      resolve: (s, args, ctx) =>
        withCursorErrors(async () => {
          const staff = isStaff(ctx.principal);
          const page = await messagesOf(ctx.db, s.id, {
            afterSeq: seqOfCursor(args.after, 'after'),
            beforeSeq: seqOfCursor(args.before, 'before'),
            first: args.first,
            last: args.last,
            includeOperatorOnly: staff,
          });
          return connectionOf(
            { rows: page.messages, hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, totalCount: async () => (await messageCounts(ctx.db, [s.id], staff)).get(s.id) ?? 0 },
            (m) => seqCursor(m.seq),
          ) as any;
        }),
    }),
  }),
});

LiveChatRating.implement({
  description: "A visitor's rating of a session.",
  fields: (t) => ({
    rating: t.field({ type: LiveChatRatingValue, description: 'The rating.', resolve: (r) => r.rating }),
    comment: t.exposeString('comment', { nullable: true, description: "The visitor's comment." }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was given (or last replaced).', resolve: (r) => r.createdAt }),
    operator: t.field({ type: Agent, nullable: true, description: 'The operator of the session when it was rated.', resolve: (r, _args, ctx) => (r.operatorId === null ? null : agentById(ctx, r.operatorId)) }),
    session: t.field({ type: LiveChatSession, description: 'The session rated.', resolve: async (r, _args, ctx) => (await sessionById(ctx, r.sessionId))! }),
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
      const id = idArgument(args.id, 'LiveChatSession', ['id']);
      const session = await findSession(ctx.db, id);
      if (session && (await actorOn(ctx, session))) return session;
      if (!session && isVisitorOf(ctx, id)) throw visitorSessionGone();
      if (ctx.principal.kind === 'anonymous') {
        throw new GraphQLError('Authentication required for Query.liveChatSession: send "Authorization: Bearer <token>".', { extensions: { code: 'UNAUTHENTICATED' } });
      }
      if (session) throw forbidden('this session belongs to someone else');
      return null;
    },
  }),
}));

import { Agent } from '../auth/graphql.js';
import { findAgent, type AgentRow } from '../auth/service.js';
import { fail, UserInputError } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { payloadType, requireIdOf, UserError, withUserErrors } from '../graphql/user-errors.js';
import { allowStartedSession, isAdmin, isVisitorOf, NO_SESSION, requireCallerAgent, senderOn, sessionForActor, staffOrVisitorOf, visitorSessionGone } from './graphql-access.js';
import { ChatMessage, LiveChatChannel, LiveChatRatingValue, LiveChatSession } from './graphql-types.js';
import { LiveChatOfflineBehavior } from './graphql-widget.js';
import type { LiveChatSessionRow } from './tables.js';
import { addOperators, removeOperators, setOperatorStatus, updateChannel, type LiveChatChannelRow } from './channels.js';
import { sendChatMessage, type ChatMessageRow } from './messages.js';
import { publishTyping, type TypingEvent } from './typing.js';
import { closeLiveChat, rateLiveChat, startLiveChat, transferLiveChat } from './sessions.js';

/** The live chat's mutations: thin resolvers over the services. */

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
    allowedOrigins: t.stringList({ description: 'Origins (scheme://host[:port], e.g. https://shop.example.com) whose pages may use the widget; replaces the list; empty: any.' }),
    offlineBehavior: t.field({ type: LiveChatOfflineBehavior, description: 'What the widget offers when nobody is available.' }),
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
      withUserErrors(async () => {
        const started = await startLiveChat(ctx.db, ctx.config.liveChat, {
          ...input,
          channelId: requireIdOf(String(input.channelId), 'LiveChatChannel', 'channelId'),
          clientAddress: ctx.client.clientAddress,
          country: ctx.visitorCountry(),
        });
        allowStartedSession(ctx, started.session.id);
        return started;
      }) as Promise<StartShape>,
  }),
  sendChatMessage: t.field({
    type: payloadType<ChatMessageRow, 'message'>('SendChatMessagePayload', 'Result of sendChatMessage.', 'message', ChatMessage, 'The stored message.'),
    skipTypeScopes: true,
    authScopes: (_root, { input }) => staffOrVisitorOf(input.sessionId),
    description: 'The visitor (visitor token) or an operator writes in a session. Operators\' "/…" messages are commands.',
    args: { input: t.arg({ type: SendChatMessageInput, required: true, description: 'Session and text.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const sessionId = requireIdOf(String(input.sessionId), 'LiveChatSession', 'sessionId');
        const sender = senderOn(ctx, sessionId);
        try {
          return { message: await sendChatMessage(ctx.db, ctx.config.liveChat, sender, { ...input, sessionId }) };
        } catch (error) {
          // The visitor's own session is gone (removed): its token no longer works, as on every other path.
          if (sender.kind === 'VISITOR' && error instanceof UserInputError && error.errors.some((e) => e.code === 'NOT_FOUND')) throw visitorSessionGone();
          throw error;
        }
      }),
  }),
  setChatTyping: t.field({
    type: TypingPayload,
    skipTypeScopes: true,
    authScopes: (_root, { input }) => staffOrVisitorOf(input.sessionId),
    description: 'Tells the other side the caller is typing (or stopped). At most one indicator per caller and session a second goes out; calls in between are accepted and dropped. SESSION_CLOSED on a closed session.',
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
        const author = actor.kind === 'VISITOR' ? 'visitor' : actor.agentId === null ? 'admin' : `agent:${actor.agentId}`;
        const { open } = session.status === 'CLOSED' ? { open: false } : await publishTyping(ctx.db, event, author);
        if (!open) fail('sessionId', 'SESSION_CLOSED', 'This conversation is closed.');
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
    description: 'The visitor rates its session, once, after the close (SESSION_OPEN before, ALREADY_RATED after the first).',
    args: { input: t.arg({ type: RateLiveChatInput, required: true, description: 'Session and rating.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const id = requireIdOf(String(input.sessionId), 'LiveChatSession', 'sessionId');
        if (!isVisitorOf(ctx, id)) throw NO_SESSION();
        return { session: await rateLiveChat(ctx.db, { sessionId: id, rating: input.rating, comment: input.comment }) };
      }),
  }),
}));

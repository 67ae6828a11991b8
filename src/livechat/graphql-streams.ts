import { encodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { isStaff } from '../auth/principal.js';
import type { Context } from '../graphql/context.js';
import { builder } from '../graphql/builder.js';
import { idArgument } from '../graphql/global-id.js';
import { withCursorErrors } from '../graphql/user-errors.js';
import { callerAgentId, canOperate, forbidden, staffOrVisitorOf, subscribableSession } from './graphql-access.js';
import { ChatAuthorKind, ChatMessageEdge, LiveChatSession, seqCursor, seqOfCursor } from './graphql-types.js';
import type { LiveChatSessionRow } from './tables.js';
import { assignWaitingInChannelsOf, findChannel, isOperatorOf } from './channels.js';
import { chatMessageAdded, chatTransaction, liveChatSessionChanged, visitorSessionChanged } from './events.js';
import { findSession, sessionsChangedSince } from './sessions.js';
import { messagesOf, type ChatMessageRow } from './messages.js';
import { presenceTrackerOf } from './presence.js';
import { controlRelayOf } from './control.js';
import { sessionStreamLifetime } from './graphql-stream-lifetime.js';
import { typingRelayOf, type TypingEvent } from './typing.js';
import { Repeater } from 'graphql-yoga';
import { availabilityWatcherOf, publishAvailabilityChanged, type ChannelAvailability } from './availability.js';
import { PUBLIC_SUBSCRIPTION } from '../http/websocket.js';
import { findChannelByKey } from './channels.js';
import { chatbotKeepsVisitAvailable } from './widget.js';

export interface ChatMessageEdgeShape {
  cursor: string;
  node: ChatMessageRow;
}

/** Who holds a stream, as far as ending it goes. */
export interface StreamHolder {
  /** The visitor of the session: its streams end with the session. */
  visitor: boolean;
  /** Staff (operators, admins) receive operator-only messages; nobody else does. */
  staff: boolean;
  /** An agent (not an admin): its streams end when it stops operating the channel. */
  removableAgentId: number | null;
}

export function streamHolderOf(ctx: Context, visitor: boolean): StreamHolder {
  return { visitor, staff: isStaff(ctx.principal), removableAgentId: ctx.principal.kind === 'agent' ? ctx.principal.agentId : null };
}

const NO_LONGER_OPERATOR = () => forbidden('you are no longer an operator of this channel');

/**
 * The signals that end a stream of one session, registered before the stream reads anything:
 * `ended` resolves when the session ends (for its visitor), and `removed` fires when the holder
 * stops operating the channel. Then the holder's rights are checked once more, which closes the
 * race with a change committed between the subscribe-time check and the registration.
 */
async function endingSignals(ctx: Context, session: LiveChatSessionRow, holder: StreamHolder, removed: () => void) {
  const control = controlRelayOf(ctx.events);
  const stops: (() => void)[] = [];
  let endSession!: () => void;
  const ended = new Promise<'ended'>((resolve) => (endSession = () => resolve('ended')));
  if (holder.visitor) stops.push(control.onSessionEnded(session.id, endSession));
  if (holder.removableAgentId !== null) {
    stops.push(control.onOperatorRemoved(session.channelId, holder.removableAgentId, removed));
    if (!(await isOperatorOf(ctx.db, session.channelId, holder.removableAgentId))) removed();
  }
  if (holder.visitor) {
    const now = await findSession(ctx.db, session.id);
    if (!now || now.status === 'CLOSED') endSession();
  }
  return { ended, dispose: () => stops.forEach((stop) => stop()) };
}

/**
 * Each read of a stream raced against signals that settle once (its session ended, the stream
 * stopped), with one reaction on each signal for the stream's life: Promise.race adds one to every
 * signal on every read, and those of a busy stream pile up on its signals until they settle.
 */
function interruptedBy<S>(signals: Promise<S>[]): <R>(read: Promise<R>) => Promise<R | S> {
  let settled: { value: S } | null = null;
  let wake: ((value: S) => void) | null = null;
  for (const signal of signals) {
    void signal.then((value) => {
      settled ??= { value };
      wake?.(value);
    });
  }
  return <R>(read: Promise<R>) =>
    settled
      ? Promise.race([read, settled.value]) // a read already done comes first, as with Promise.race
      : new Promise<R | S>((resolve, reject) => {
          wake = resolve;
          read.then(resolve, reject);
        });
}

/**
 * Replays the session's messages after the cursor, then continues live, each message once:
 * the live subscription is registered before the database is read, and live messages already
 * replayed (seq not above the last one sent) are skipped. The seq cursor is the session's own,
 * so it resumes from the messages table however old it is, with no event-log retention limit.
 * A visitor's stream ends with the session, after its last message.
 */
export function chatMessageStream(ctx: Context, session: LiveChatSessionRow, afterSeq: number, holder: StreamHolder): AsyncIterable<ChatMessageEdgeShape> {
  const sessionId = session.id;
  return new Repeater<ChatMessageEdgeShape>(async (push, stop) => {
    const live = (await ctx.events.subscribeLive(chatMessageAdded, { key: sessionId }))[Symbol.asyncIterator]();
    let nextLive = live.next();
    void stop.then(() => live.return?.());
    const signals = await endingSignals(ctx, session, holder, () => stop(NO_LONGER_OPERATOR()));
    void stop.then(signals.dispose);
    const interrupted = interruptedBy([signals.ended, stop.then(() => 'stopped' as const)]);
    let lastSeq = afterSeq;
    const send = async (message: ChatMessageRow) => {
      if (message.seq <= lastSeq) return;
      lastSeq = message.seq;
      if (!holder.staff && message.operatorOnly) return;
      await push({ cursor: seqCursor(message.seq), node: message });
    };
    try {
      const readUpTo = async (untilSeq: number) => {
        while (lastSeq < untilSeq) {
          const page = await messagesOf(ctx.db, sessionId, { afterSeq: lastSeq, first: 200, includeOperatorOnly: true });
          for (const message of page.messages) await send(message);
          if (!page.hasNextPage) break;
        }
      };
      await readUpTo(Infinity);
      for (;;) {
        const result = await interrupted(nextLive);
        if (result === 'stopped') break;
        if (result === 'ended') {
          // Committed before the signal was sent: the table has the session's last messages.
          await readUpTo(Infinity);
          stop();
          break;
        }
        if (result.done) break;
        const event = result.value;
        // Notifications may have been lost (the LISTEN connection dropped): the table has it all.
        if (event.missed) await readUpTo(Infinity);
        else {
          // Seqs follow commit order within a session: a jump means notifications were lost.
          if (event.node.seq > lastSeq + 1) await readUpTo(event.node.seq - 1);
          await send(event.node);
        }
        nextLive = live.next();
      }
    } catch (err) {
      stop(err);
    }
  });
}

/** Changes of one session, keyed by it, for its visitor; after lost notifications, the session as it is now. Ends once it closed. */
export function visitorSessionStream(ctx: Context, session: LiveChatSessionRow): AsyncIterable<LiveChatSessionRow> {
  return new Repeater<LiveChatSessionRow>(async (push, stop) => {
    const live = (await ctx.events.subscribeLive(visitorSessionChanged, { key: session.id }))[Symbol.asyncIterator]();
    let nextLive = live.next();
    void stop.then(() => live.return?.());
    const signals = await endingSignals(ctx, session, { visitor: true, staff: false, removableAgentId: null }, () => {});
    void stop.then(signals.dispose);
    const interrupted = interruptedBy([signals.ended, stop.then(() => 'stopped' as const)]);
    try {
      for (;;) {
        const result = await interrupted(nextLive);
        if (result === 'stopped') break;
        if (result === 'ended') {
          // The closed session, as it is now, unless its change event came first.
          const now = await findSession(ctx.db, session.id);
          if (now) await push(now);
          stop();
          break;
        }
        if (result.done) break;
        const changed = result.value.missed ? await findSession(ctx.db, session.id) : result.value.node;
        // Gone (removed while notifications were lost) or closed: the stream is over.
        if (changed) await push(changed);
        if (!changed || changed.status === 'CLOSED') {
          stop();
          break;
        }
        nextLive = live.next();
      }
    } catch (err) {
      stop(err);
    }
  });
}

/**
 * An operator's session feed of a channel; while it is open the operator counts as connected,
 * through a presence row in PostgreSQL that the instance keeps fresh. It ends with FORBIDDEN when
 * the agent stops being an operator of the channel.
 */
export function operatorSessionStream(ctx: Context, channelId: number, agentId: number | null): AsyncIterable<LiveChatSessionRow> {
  return new Repeater<LiveChatSessionRow>(async (push, stop) => {
    const live = (await ctx.events.subscribeLive(liveChatSessionChanged, { key: channelId }))[Symbol.asyncIterator]();
    let nextLive = live.next();
    let resyncedAt = new Date();
    const removableAgentId = ctx.principal.kind === 'agent' ? ctx.principal.agentId : null;
    const unlisten = removableAgentId === null ? () => {} : controlRelayOf(ctx.events).onOperatorRemoved(channelId, removableAgentId, () => stop(NO_LONGER_OPERATOR()));
    const tracker = presenceTrackerOf(ctx.events);
    let presenceId: number | null = null;
    const connected = (async () => {
      if (agentId === null) return;
      if (!(await isOperatorOf(ctx.db, channelId, agentId))) {
        if (removableAgentId !== null) stop(NO_LONGER_OPERATOR());
        return;
      }
      presenceId = await tracker.connect(channelId, agentId);
      await publishAvailabilityChanged(ctx.db, [channelId]);
      // A newly reachable operator may serve the waiting line at once.
      await chatTransaction(ctx.db, (tx) => assignWaitingInChannelsOf(tx, agentId, channelId));
    })();
    const pump = (async () => {
      for (;;) {
        const result = await nextLive;
        if (result.done) return;
        if (result.value.missed) {
          // Notifications may have been lost: every session still open or waiting as it is now,
          // and those closed since the last time this was read.
          const since = resyncedAt;
          resyncedAt = new Date();
          for (const session of await sessionsChangedSince(ctx.db, channelId, since)) await push(session);
        } else await push(result.value.node);
        nextLive = live.next();
      }
    })();
    pump.catch((err) => stop(err));
    connected.catch((err) => stop(err));
    await stop;
    unlisten();
    await live.return?.();
    await connected.catch(() => {});
    if (presenceId !== null) {
      await tracker.disconnect(presenceId);
      await publishAvailabilityChanged(ctx.db, [channelId]);
    }
  });
}

/** Typing indicators of a session, live only; ends as the holder's other streams of the session do. */
export function typingStream(ctx: Context, session: LiveChatSessionRow, holder: StreamHolder): AsyncIterable<TypingEvent> {
  return new Repeater<TypingEvent>(async (push, stop) => {
    const unsubscribe = typingRelayOf(ctx.events).listen(session.id, (event) => void push(event).catch(() => {}));
    const signals = await endingSignals(ctx, session, holder, () => stop(NO_LONGER_OPERATOR()));
    void signals.ended.then(() => stop());
    await stop;
    signals.dispose();
    unsubscribe();
  });
}

/**
 * A channel's availability for a visitor's widget: the current value, then a value at each
 * change of availability or of the offline behaviour (the widget reads liveChatWidget again).
 */
export function availabilityStream(ctx: Context, channelId: number, botAnswers = false): AsyncIterable<boolean> {
  return new Repeater<boolean>(async (push, stop) => {
    let last: ChannelAvailability | null = null;
    const unwatch = await availabilityWatcherOf(ctx.events).watch(channelId, (state) => {
      if (last && last.available === state.available && last.offlineBehavior === state.offlineBehavior) return;
      last = state;
      // A bot whose condition holds answers whatever the operators do.
      push(state.available || botAnswers).catch(() => {});
    });
    await stop;
    unwatch();
  });
}

// ---------------------------------------------------------------- subscriptions

interface TypingShape {
  sessionId: number;
  authorKind: 'VISITOR' | 'OPERATOR';
  name: string;
  typing: boolean;
}

const ChatTypingEvent = builder.objectRef<TypingShape>('ChatTypingEvent').implement({
  description: 'Someone started or stopped typing in a session.',
  fields: (t) => ({
    sessionId: t.id({ description: 'Global ID of the session.', resolve: (e) => encodeGlobalID('LiveChatSession', e.sessionId) }),
    authorKind: t.field({ type: ChatAuthorKind, description: 'Visitor or operator.', resolve: (e) => e.authorKind }),
    name: t.exposeString('name', { description: 'Name of who is typing.' }),
    typing: t.exposeBoolean('typing', { description: 'true while typing.' }),
  }),
});

builder.subscriptionFields((t) => ({
  liveChatAvailability: t.boolean({
    skipTypeScopes: true,
    // Public: an anonymous graphql-ws socket that holds it is not closed at the grace period.
    extensions: { [PUBLIC_SUBSCRIPTION]: true },
    description:
      "Whether a chat started now would reach someone: an operator (LiveChatChannel.available) or a bot whose condition holds, for a visitor's widget (public): the current value, then one at each change " +
      '(an operator accepting or not, connecting or leaving, presence going stale, live chat switched, the offline behaviour changed: read liveChatWidget again).',
    args: {
      channelKey: t.arg.string({ required: true, description: 'The channel key of the widget.' }),
      pageUrl: t.arg.string({ description: "The page the widget is on: a bot its rule attaches (ALWAYS or ONLY_IF_NO_OPERATOR) keeps the chat available." }),
    },
    subscribe: async (_root, args, ctx) => {
      const channel = await findChannelByKey(ctx.db, args.channelKey);
      if (!channel) throw new GraphQLError('No live chat channel has this key.', { extensions: { code: 'NOT_FOUND' } });
      return availabilityStream(ctx, channel.id, await chatbotKeepsVisitAvailable(ctx.db, channel, { pageUrl: args.pageUrl ?? null, country: ctx.visitorCountry() }));
    },
    resolve: (available: boolean) => available,
  }),
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
      const afterSeq = await withCursorErrors(async () => seqOfCursor(args.after, 'after'));
      const { session, visitor } = await subscribableSession(ctx, args.sessionId);
      return sessionStreamLifetime(ctx, session, visitor, chatMessageStream(ctx, session, afterSeq ?? 0, streamHolderOf(ctx, visitor)));
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
      const { session, visitor } = await subscribableSession(ctx, args.sessionId);
      return sessionStreamLifetime(ctx, session, false, typingStream(ctx, session, streamHolderOf(ctx, visitor)));
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
        throw new GraphQLError('Give exactly one of channelId and sessionId.', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      if (args.channelId != null) {
        const channel = await findChannel(ctx.db, idArgument(args.channelId, 'LiveChatChannel', ['channelId']));
        if (!channel || !(await canOperate(ctx, channel.id))) throw forbidden("liveChatSessionChanged(channelId) is for the channel's operators and admins");
        return operatorSessionStream(ctx, channel.id, callerAgentId(ctx));
      }
      const { session, visitor } = await subscribableSession(ctx, args.sessionId!);
      return sessionStreamLifetime(ctx, session, visitor, visitorSessionStream(ctx, session));
    },
    resolve: (session: LiveChatSessionRow) => session,
  }),
}));

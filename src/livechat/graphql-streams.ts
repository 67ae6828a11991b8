import { GraphQLError } from 'graphql';
import { idArgument } from '../graphql/global-id.js';
import type { Context } from '../graphql/context.js';
import { builder } from '../graphql/builder.js';
import { callerAgentId, canOperate, forbidden, staffOrVisitorOf, subscribableSession } from './graphql-access.js';
import { ChatAuthorKind, ChatMessageEdge, LiveChatSession, seqCursor, seqOfCursor } from './graphql-types.js';
import type { LiveChatSessionRow } from './assignment.js';
import { assignWaitingInChannelsOf, findChannel, isOperatorOf } from './channels.js';
import { chatMessageAdded, chatTransaction, liveChatSessionChanged, visitorSessionChanged } from './events.js';
import { findSession, sessionsChangedSince } from './sessions.js';
import { messagesOf, type ChatMessageRow } from './messages.js';
import { presenceTrackerOf } from './presence.js';
import { sessionStreamLifetime } from './graphql-stream-lifetime.js';
import { typingRelayOf, type TypingEvent } from './typing.js';
import { Repeater } from 'graphql-yoga';
import { availabilityWatcherOf, publishAvailabilityChanged, type ChannelAvailability } from './availability.js';
import { PUBLIC_SUBSCRIPTION } from '../http/websocket.js';
import { findChannelByKey } from './channels.js';

export interface ChatMessageEdgeShape {
  cursor: string;
  node: ChatMessageRow;
}

/**
 * Replays the session's messages after the cursor, then continues live, each message once:
 * the live subscription is registered before the database is read, and live messages already
 * replayed (seq not above the last one sent) are skipped. The seq cursor is the session's own,
 * so it resumes from the messages table however old it is, with no event-log retention limit.
 */
export function chatMessageStream(ctx: Context, sessionId: number, afterSeq: number, visitor: boolean): AsyncIterable<ChatMessageEdgeShape> {
  return new Repeater<ChatMessageEdgeShape>(async (push, stop) => {
    const live = (await ctx.events.subscribeLive(chatMessageAdded, { key: sessionId }))[Symbol.asyncIterator]();
    let nextLive = live.next();
    void stop.then(() => live.return?.());
    let lastSeq = afterSeq;
    const send = async (message: ChatMessageRow) => {
      if (message.seq <= lastSeq) return;
      lastSeq = message.seq;
      if (visitor && message.operatorOnly) return;
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
        const result = await nextLive;
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

/** Changes of one session, keyed by it; after lost notifications, the session as it is now. */
export function visitorSessionStream(ctx: Context, session: LiveChatSessionRow): AsyncIterable<LiveChatSessionRow> {
  return new Repeater<LiveChatSessionRow>(async (push, stop) => {
    const live = (await ctx.events.subscribeLive(visitorSessionChanged, { key: session.id }))[Symbol.asyncIterator]();
    void stop.then(() => live.return?.());
    try {
      for (;;) {
        const result = await live.next();
        if (result.done) break;
        const changed = result.value.missed ? await findSession(ctx.db, session.id) : result.value.node;
        if (changed) await push(changed);
      }
    } catch (err) {
      stop(err);
    }
  });
}

/**
 * An operator's session feed of a channel; while it is open the operator counts as connected,
 * through a presence row in PostgreSQL that the instance keeps fresh.
 */
export function operatorSessionStream(ctx: Context, channelId: number, agentId: number | null): AsyncIterable<LiveChatSessionRow> {
  return new Repeater<LiveChatSessionRow>(async (push, stop) => {
    const live = (await ctx.events.subscribeLive(liveChatSessionChanged, { key: channelId }))[Symbol.asyncIterator]();
    let nextLive = live.next();
    let resyncedAt = new Date();
    const tracker = presenceTrackerOf(ctx.events);
    let presenceId: number | null = null;
    const connected = (async () => {
      if (agentId === null || !(await isOperatorOf(ctx.db, channelId, agentId))) return;
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
    await live.return?.();
    await connected.catch(() => {});
    if (presenceId !== null) {
      await tracker.disconnect(presenceId);
      await publishAvailabilityChanged(ctx.db, [channelId]);
    }
  });
}

/** Typing indicators of a session, live only. */
export function typingStream(ctx: Context, sessionId: number): AsyncIterable<TypingEvent> {
  return new Repeater<TypingEvent>(async (push, stop) => {
    const unsubscribe = typingRelayOf(ctx.events).listen(sessionId, (event) => void push(event).catch(() => {}));
    await stop;
    unsubscribe();
  });
}

/**
 * A channel's availability for a visitor's widget: the current value, then a value at each
 * change of availability or of the offline behaviour (the widget reads liveChatWidget again).
 */
export function availabilityStream(ctx: Context, channelId: number): AsyncIterable<boolean> {
  return new Repeater<boolean>(async (push, stop) => {
    let last: ChannelAvailability | null = null;
    const unwatch = await availabilityWatcherOf(ctx.events).watch(channelId, (state) => {
      if (last && last.available === state.available && last.offlineBehavior === state.offlineBehavior) return;
      last = state;
      push(state.available).catch(() => {});
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
    sessionId: t.id({ description: 'Global ID of the session.', resolve: (e) => Buffer.from(`LiveChatSession:${e.sessionId}`).toString('base64') }),
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
      "Whether a chat started now would reach an operator (LiveChatChannel.available), for a visitor's widget (public): the current value, then one at each change " +
      '(an operator accepting or not, connecting or leaving, presence going stale, live chat switched, the offline behaviour changed: read liveChatWidget again).',
    args: { channelKey: t.arg.string({ required: true, description: 'The channel key of the widget.' }) },
    subscribe: async (_root, args, ctx) => {
      const channel = await findChannelByKey(ctx.db, args.channelKey);
      if (!channel) throw new GraphQLError('No live chat channel has this key.', { extensions: { code: 'NOT_FOUND' } });
      return availabilityStream(ctx, channel.id);
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
      const { session, visitor } = await subscribableSession(ctx, args.sessionId);
      return sessionStreamLifetime(ctx, session, visitor, chatMessageStream(ctx, session.id, seqOfCursor(args.after) ?? 0, visitor));
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
      return sessionStreamLifetime(ctx, session, false, typingStream(ctx, session.id));
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
      const { session, visitor } = await subscribableSession(ctx, args.sessionId!);
      return sessionStreamLifetime(ctx, session, visitor, visitorSessionStream(ctx, session));
    },
    resolve: (session: LiveChatSessionRow) => session,
  }),
}));

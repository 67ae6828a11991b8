import type { Context } from '../graphql/context.js';
import type { LiveChatSessionRow } from './assignment.js';
import { assignWaitingInChannelsOf, isOperatorOf } from './channels.js';
import { chatMessageAdded, chatTransaction, liveChatSessionChanged } from './events.js';
import { messagesOf, type ChatMessageRow } from './messages.js';
import { presenceTrackerOf } from './presence.js';
import { typingRelayOf, type TypingEvent } from './typing.js';
import { Repeater } from 'graphql-yoga';

/** Opaque cursor of a chat message: its seq within the session. */
export function seqCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

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
    const live = (await ctx.events.subscribe(chatMessageAdded, { key: sessionId }))[Symbol.asyncIterator]();
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
        // Seqs have no gaps and notifications follow commit order: a jump means some were lost
        // (a dropped LISTEN connection), and the table has them.
        if (result.value.node.seq > lastSeq + 1) await readUpTo(result.value.node.seq - 1);
        await send(result.value.node);
        nextLive = live.next();
      }
    } catch (err) {
      stop(err);
    }
  });
}

/** Changes of one session: the channel's events, this session's only. */
export function visitorSessionStream(ctx: Context, session: LiveChatSessionRow): AsyncIterable<LiveChatSessionRow> {
  return new Repeater<LiveChatSessionRow>(async (push, stop) => {
    const live = (await ctx.events.subscribe(liveChatSessionChanged, { key: session.channelId }))[Symbol.asyncIterator]();
    void stop.then(() => live.return?.());
    try {
      for (;;) {
        const result = await live.next();
        if (result.done) break;
        if (result.value.node.id === session.id) await push(result.value.node);
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
    const live = (await ctx.events.subscribe(liveChatSessionChanged, { key: channelId }))[Symbol.asyncIterator]();
    let nextLive = live.next();
    const tracker = presenceTrackerOf(ctx.events);
    let presenceId: number | null = null;
    const connected = (async () => {
      if (agentId === null || !(await isOperatorOf(ctx.db, channelId, agentId))) return;
      presenceId = await tracker.connect(channelId, agentId);
      // A newly reachable operator may serve the waiting line at once.
      await chatTransaction(ctx.db, (tx) => assignWaitingInChannelsOf(tx, agentId, channelId));
    })();
    const pump = (async () => {
      for (;;) {
        const result = await nextLive;
        if (result.done) return;
        await push(result.value.node);
        nextLive = live.next();
      }
    })();
    pump.catch((err) => stop(err));
    connected.catch((err) => stop(err));
    await stop;
    await live.return?.();
    await connected.catch(() => {});
    if (presenceId !== null) await tracker.disconnect(presenceId);
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

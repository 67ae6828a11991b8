import { Repeater } from 'graphql-yoga';
import { inTransaction } from '../db/client.js';
import type { Context } from '../graphql/context.js';
import { isOperatorOf } from './access.js';
import type { LiveChatSessionRow } from './assignment.js';
import { assignWaitingInChannelsOf } from './channels.js';
import { CHAT_MESSAGE_ADDED, LIVE_CHAT_SESSION_CHANGED, type ChatEvent } from './events.js';
import { messagesOf, type ChatMessageRow } from './messages.js';
import { presenceTrackerOf } from './presence.js';

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
 * replayed (seq not above the last one sent) are skipped.
 */
export function chatMessageStream(ctx: Context, sessionId: number, afterSeq: number, visitor: boolean): AsyncIterable<ChatMessageEdgeShape> {
  return new Repeater<ChatMessageEdgeShape>(async (push, stop) => {
    const live = ctx.events.subscribe<ChatMessageRow>(CHAT_MESSAGE_ADDED, (e) => (e as ChatEvent).sessionId === sessionId)[Symbol.asyncIterator]();
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
      for (;;) {
        const page = await messagesOf(ctx.db, sessionId, { afterSeq: lastSeq, first: 200, includeOperatorOnly: true });
        for (const message of page.messages) await send(message);
        if (!page.hasNextPage) break;
      }
      for (;;) {
        const result = await nextLive;
        if (result.done) break;
        await send(result.value);
        nextLive = live.next();
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
    const live = ctx.events.subscribe<LiveChatSessionRow>(LIVE_CHAT_SESSION_CHANGED, (e) => (e as ChatEvent).channelId === channelId)[Symbol.asyncIterator]();
    let nextLive = live.next();
    const tracker = presenceTrackerOf(ctx.events);
    let presenceId: number | null = null;
    const connected = (async () => {
      if (agentId === null || !(await isOperatorOf(ctx.db, channelId, agentId))) return;
      presenceId = await tracker.connect(channelId, agentId);
      // A newly reachable operator may serve the waiting line at once.
      await inTransaction(ctx.db, (tx) => assignWaitingInChannelsOf(tx, agentId, channelId));
    })();
    const pump = (async () => {
      for (;;) {
        const result = await nextLive;
        if (result.done) return;
        await push(result.value);
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

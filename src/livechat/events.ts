import { inArray } from 'drizzle-orm';
import { inTransaction, type Db, type DbOrTx } from '../db/client.js';
import { defineEvent, notifyEvents, publishEvents } from '../events/hub.js';
import { liveChatMessages, liveChatSessions } from './tables.js';

async function loadMessages(db: Db, ids: number[]) {
  const rows = await db.select().from(liveChatMessages).where(inArray(liveChatMessages.id, ids));
  return new Map(rows.map((row) => [row.id, row]));
}

async function loadSessions(db: Db, ids: number[]) {
  const rows = await db.select().from(liveChatSessions).where(inArray(liveChatSessions.id, ids));
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * A chat message was committed; keyed by its session. Streams replay from the messages table by
 * seq (a cursor that outlives the event log's retention) and take only live events from here,
 * reading the table again over any gap in seq: so the type is live only, and messages of
 * different sessions commit side by side instead of queueing behind one event-log lock.
 */
export const chatMessageAdded = defineEvent({ name: 'chatMessageAdded', load: loadMessages, liveOnly: true });

/**
 * A session was created or changed (status, operator, queue position); keyed by its channel,
 * which operators follow. A visitor follows the same key and keeps its own session: one type
 * means one stream lock per transaction instead of two to keep in order.
 */
export const liveChatSessionChanged = defineEvent({ name: 'liveChatSessionChanged', load: loadSessions });

/**
 * A session was removed (the visitor never wrote, see the sweep); keyed by the session. Its
 * streams end on it. Live only, and loads nothing: the row is gone, the id is the news.
 */
export const liveChatSessionRemoved = defineEvent<number>({ name: 'liveChatSessionRemoved', load: async (_db, ids) => new Map(ids.map((id) => [id, id])), liveOnly: true });

/** Events a live chat transaction raised, published together when its work is done. */
interface Pending {
  messages: Map<number, number>;
  sessions: Map<number, number>;
}

const pendingByTx = new WeakMap<object, Pending>();

/**
 * Runs live chat work in one transaction and publishes its events at the end, always messages
 * first, then session changes. The hub locks a type's stream row from a transaction's first
 * publish of it until commit, so transactions that took the two in different orders could
 * deadlock; ticket events (the /helpdesk command) are published mid-work by the ticket path,
 * so they always come before both.
 */
export function chatTransaction<T>(db: DbOrTx, work: (tx: DbOrTx) => Promise<T>): Promise<T> {
  return inTransaction(db, async (tx) => {
    if (pendingByTx.has(tx)) return work(tx);
    const pending: Pending = { messages: new Map(), sessions: new Map() };
    pendingByTx.set(tx, pending);
    try {
      const result = await work(tx);
      await notifyEvents(tx, chatMessageAdded, pending.messages);
      await publishEvents(tx, liveChatSessionChanged, pending.sessions);
      return result;
    } finally {
      pendingByTx.delete(tx);
    }
  });
}

function pendingOf(tx: DbOrTx): Pending {
  const pending = pendingByTx.get(tx);
  if (!pending) throw new Error('live chat events are published from inside chatTransaction');
  return pending;
}

export function publishChatMessageAdded(tx: DbOrTx, message: { id: number; sessionId: number }): void {
  pendingOf(tx).messages.set(message.id, message.sessionId);
}

export function publishSessionChanged(tx: DbOrTx, session: { id: number; channelId: number }): void {
  pendingOf(tx).sessions.set(session.id, session.channelId);
}

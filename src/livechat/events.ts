import { inArray, sql, type SQL } from 'drizzle-orm';
import { inTransaction, type Db, type DbOrTx } from '../db/client.js';
import { defineEvent, notifyEventsOfTypes } from '../events/hub.js';
import { liveChatMessages, liveChatSessions } from './tables.js';

type ChatMessageRow = typeof liveChatMessages.$inferSelect;

async function loadMessages(db: Db, ids: number[]) {
  const rows = await db.select().from(liveChatMessages).where(inArray(liveChatMessages.id, ids));
  return new Map(rows.map((row) => [row.id, row]));
}

async function loadSessions(db: Db, ids: number[]) {
  const rows = await db.select().from(liveChatSessions).where(inArray(liveChatSessions.id, ids));
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * A message row as JSON with the row's own property names, for `chatMessageAdded`'s
 * notification and the send statement's answer (`m` names the inserted row).
 */
export const MESSAGE_JSON: SQL = sql.raw(`json_build_object('id', m.id, 'sessionId', m.session_id, 'seq', m.seq, 'authorKind', m.author_kind,
  'authorName', m.author_name, 'agentId', m.agent_id, 'body', m.body, 'operatorOnly', m.operator_only,
  'inTranscript', m.in_transcript, 'clientMessageId', m.client_message_id, 'createdAt', m.created_at,
  'chatbotStepId', m.chatbot_step_id, 'redirectUrl', m.redirect_url)`);

export function messageFromJson(json: unknown): ChatMessageRow {
  const row = json as ChatMessageRow & { createdAt: string };
  return { ...row, createdAt: new Date(row.createdAt) };
}

/**
 * A chat message was committed; keyed by its session. Streams replay from the messages table by
 * seq (a cursor that outlives the event log's retention) and take only live events from here,
 * reading the table again over any gap in seq or lost notifications: so the type is live only,
 * and messages of different sessions commit side by side instead of queueing behind one
 * event-log lock. The row rides in the notification when it fits.
 */
export const chatMessageAdded = defineEvent({ name: 'chatMessageAdded', load: loadMessages, liveOnly: true, fromNotification: messageFromJson });

/**
 * A session was created or changed (status, operator, queue position); keyed by its channel,
 * which operators follow. Live only: nothing resumes it, so no publisher queues behind an
 * event-log lock; after lost notifications its streams read the sessions again.
 */
export const liveChatSessionChanged = defineEvent({ name: 'liveChatSessionChanged', load: loadSessions, liveOnly: true });

/** The same change keyed by the session itself, which its visitor follows: no filtering of the channel's. */
export const visitorSessionChanged = defineEvent({ name: 'visitorSessionChanged', load: loadSessions, liveOnly: true });

/** Events a live chat transaction raised, published together when its work is done. */
interface Pending {
  messages: Map<number, number>;
  sessions: Map<number, number>;
}

const pendingByTx = new WeakMap<object, Pending>();

/**
 * Runs live chat work in one transaction and publishes its events at the end, messages first,
 * then session changes: all live only, so no event-log lock is taken and transactions of
 * different sessions and channels commit side by side.
 */
export function chatTransaction<T>(db: DbOrTx, work: (tx: DbOrTx) => Promise<T>): Promise<T> {
  return inTransaction(db, async (tx) => {
    if (pendingByTx.has(tx)) return work(tx);
    const pending: Pending = { messages: new Map(), sessions: new Map() };
    pendingByTx.set(tx, pending);
    try {
      const result = await work(tx);
      await notifyEventsOfTypes(tx, [
        [chatMessageAdded, pending.messages],
        [liveChatSessionChanged, pending.sessions],
        [visitorSessionChanged, new Map([...pending.sessions.keys()].map((id) => [id, id]))],
      ]);
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

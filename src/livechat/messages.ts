import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { fail } from '../errors.js';
import type { LiveChatSessionRow } from './assignment.js';
import type { LiveChatChannelRow } from './channels.js';
import { findChannel } from './channels.js';
import { runChatCommand } from './commands.js';
import { chatTransaction, publishChatMessageAdded } from './events.js';
import { hitRateLimit } from './ratelimit.js';
import { cleanChatBody, parseChatCommand } from './rules.js';
import { liveChatMessages, liveChatSessions } from './tables.js';
import { isLongerThan } from '../text/clean.js';

export type ChatMessageRow = typeof liveChatMessages.$inferSelect;
export type ChatAuthorKind = ChatMessageRow['authorKind'];

/** Who acts on a session: its visitor, or an operator (or admin) by name. */
export type ChatActor = { kind: 'VISITOR'; sessionId: number } | { kind: 'OPERATOR'; agentId: number | null; name: string };

export interface NewChatMessage {
  authorKind: ChatAuthorKind;
  authorName: string;
  agentId?: number | null;
  body: string;
  operatorOnly?: boolean;
  inTranscript?: boolean;
  clientMessageId?: string | null;
}

/**
 * Stores a message in a session the caller has locked, with the next seq: seq order is commit
 * order within a session, which lets streams resume from a seq without a gap.
 */
export async function appendMessage(tx: DbOrTx, channel: LiveChatChannelRow, session: LiveChatSessionRow, message: NewChatMessage): Promise<ChatMessageRow> {
  const visitorWrote = message.authorKind === 'VISITOR';
  const [bumped] = await tx
    .update(liveChatSessions)
    .set({ lastSeq: sql`${liveChatSessions.lastSeq} + 1`, lastActivityAt: sql`now()`, ...(visitorWrote ? { visitorWrote: true } : {}) })
    .where(eq(liveChatSessions.id, session.id))
    .returning({ lastSeq: liveChatSessions.lastSeq });
  const [row] = await tx
    .insert(liveChatMessages)
    .values({
      sessionId: session.id,
      seq: bumped!.lastSeq,
      authorKind: message.authorKind,
      authorName: message.authorName,
      agentId: message.agentId ?? null,
      body: message.body,
      operatorOnly: message.operatorOnly ?? false,
      inTranscript: message.inTranscript ?? true,
      clientMessageId: message.clientMessageId ?? null,
    })
    .returning();
  publishChatMessageAdded(tx, row!);
  return row!;
}

export interface ChatSettings {
  maxMessageChars: number;
  messagesPerMinutePerSession: number;
}

const MAX_CLIENT_MESSAGE_ID = 100;

async function findByClientMessageId(db: DbOrTx, sessionId: number, clientMessageId: string): Promise<ChatMessageRow | undefined> {
  const [row] = await db
    .select()
    .from(liveChatMessages)
    .where(and(eq(liveChatMessages.sessionId, sessionId), eq(liveChatMessages.clientMessageId, clientMessageId)));
  return row;
}

/** Locks a session, or fails with NOT_FOUND. */
export async function lockSession(tx: DbOrTx, sessionId: number): Promise<LiveChatSessionRow> {
  const [session] = await tx.select().from(liveChatSessions).where(eq(liveChatSessions.id, sessionId)).for('update');
  if (!session) fail('sessionId', 'NOT_FOUND', 'No live chat session has this id.');
  return session;
}

/**
 * A visitor or operator writes. The message is committed before it is returned or broadcast; a
 * retry with the same clientMessageId returns the stored message. Operators' "/…" messages are
 * commands, answered to the operator alone.
 */
export async function sendChatMessage(
  db: DbOrTx,
  settings: ChatSettings,
  actor: ChatActor,
  input: { sessionId: number; body: string; clientMessageId?: string | null; operatorOnly?: boolean | null },
): Promise<ChatMessageRow> {
  const body = cleanChatBody(input.body);
  if (body.trim() === '') fail('body', 'REQUIRED', 'body is required.');
  if (isLongerThan(body, settings.maxMessageChars)) fail('body', 'TOO_LONG', `body must be at most ${settings.maxMessageChars} characters.`);
  const clientMessageId = input.clientMessageId ?? null;
  if (clientMessageId !== null && (clientMessageId === '' || isLongerThan(clientMessageId, MAX_CLIENT_MESSAGE_ID))) {
    fail('clientMessageId', 'INVALID_ID', `clientMessageId must be 1 to ${MAX_CLIENT_MESSAGE_ID} characters.`);
  }
  if (input.operatorOnly && actor.kind === 'VISITOR') fail('operatorOnly', 'FORBIDDEN', 'Only operators may send operator-only messages.');
  if (clientMessageId !== null) {
    const sent = await findByClientMessageId(db, input.sessionId, clientMessageId);
    if (sent) return sent;
  }
  await hitRateLimit(db, `chat-messages:${input.sessionId}`, settings.messagesPerMinutePerSession, 60);
  return chatTransaction(db, async (tx) => {
    const session = await lockSession(tx, input.sessionId);
    if (clientMessageId !== null) {
      const sent = await findByClientMessageId(tx, session.id, clientMessageId);
      if (sent) return sent;
    }
    if (session.status === 'CLOSED') fail('sessionId', 'SESSION_CLOSED', 'This conversation is closed: start a new one.');
    const channel = (await findChannel(tx, session.channelId))!;
    if (actor.kind === 'VISITOR') {
      return appendMessage(tx, channel, session, { authorKind: 'VISITOR', authorName: session.visitorName, body, clientMessageId });
    }
    const command = parseChatCommand(body);
    const message = await appendMessage(tx, channel, session, {
      authorKind: 'OPERATOR',
      authorName: actor.name,
      agentId: actor.agentId,
      body,
      clientMessageId,
      operatorOnly: command !== null || (input.operatorOnly ?? false),
      inTranscript: command === null,
    });
    if (command) await runChatCommand(tx, channel, session, command);
    return message;
  });
}

export interface MessagePage {
  messages: ChatMessageRow[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/** A page of a session's messages in seq order; visitors' pages leave operator-only ones out. */
export async function messagesOf(
  db: DbOrTx,
  sessionId: number,
  page: { afterSeq?: number | null; beforeSeq?: number | null; first?: number | null; last?: number | null; includeOperatorOnly: boolean },
): Promise<MessagePage> {
  const where = and(
    eq(liveChatMessages.sessionId, sessionId),
    page.afterSeq != null ? gt(liveChatMessages.seq, page.afterSeq) : undefined,
    page.beforeSeq != null ? lt(liveChatMessages.seq, page.beforeSeq) : undefined,
    page.includeOperatorOnly ? undefined : eq(liveChatMessages.operatorOnly, false),
  );
  const fromEnd = page.last != null && page.first == null;
  const size = Math.min(Math.max(fromEnd ? page.last! : (page.first ?? 50), 0), 200);
  const rows = await db
    .select()
    .from(liveChatMessages)
    .where(where)
    .orderBy(fromEnd ? desc(liveChatMessages.seq) : asc(liveChatMessages.seq))
    .limit(size + 1);
  const more = rows.length > size;
  const messages = rows.slice(0, size);
  if (fromEnd) messages.reverse();
  return {
    messages,
    hasNextPage: fromEnd ? false : more,
    hasPreviousPage: fromEnd ? more : false,
  };
}

export async function findMessage(db: DbOrTx, id: number): Promise<ChatMessageRow | undefined> {
  const [row] = await db.select().from(liveChatMessages).where(eq(liveChatMessages.id, id));
  return row;
}

/** Messages of sessions, operator-only ones included or not, for many sessions at once. */
export async function messageCounts(db: DbOrTx, sessionIds: number[], includeOperatorOnly = true): Promise<Map<number, number>> {
  if (sessionIds.length === 0) return new Map();
  const rows = await db
    .select({ sessionId: liveChatMessages.sessionId, count: sql<number>`count(*)`.mapWith(Number) })
    .from(liveChatMessages)
    .where(and(sql`${liveChatMessages.sessionId} in ${sessionIds}`, includeOperatorOnly ? undefined : eq(liveChatMessages.operatorOnly, false)))
    .groupBy(liveChatMessages.sessionId);
  return new Map(rows.map((r) => [r.sessionId, r.count]));
}

/** The visitor and operator messages of a session, as a ticket's transcript takes them. */
export async function transcriptMessages(db: DbOrTx, sessionId: number): Promise<ChatMessageRow[]> {
  return db
    .select()
    .from(liveChatMessages)
    .where(
      and(
        eq(liveChatMessages.sessionId, sessionId),
        eq(liveChatMessages.inTranscript, true),
        eq(liveChatMessages.operatorOnly, false),
        sql`${liveChatMessages.authorKind} in ('VISITOR', 'OPERATOR')`,
      ),
    )
    .orderBy(asc(liveChatMessages.seq));
}

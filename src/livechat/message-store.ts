import { and, asc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { fail } from '../errors.js';
import { publishChatMessageAdded } from './events.js';
import { liveChatMessages, liveChatSessions, type LiveChatSessionRow } from './tables.js';

/**
 * The message store: how a message is appended to a session and read back for a transcript.
 * Everything that writes a message (sending, assignment's welcome, closing, commands) goes
 * through here, and this module imports none of them.
 */

export type ChatMessageRow = typeof liveChatMessages.$inferSelect;
export type ChatAuthorKind = ChatMessageRow['authorKind'];

export interface NewChatMessage {
  authorKind: ChatAuthorKind;
  authorName: string;
  agentId?: number | null;
  body: string;
  operatorOnly?: boolean;
  inTranscript?: boolean;
  clientMessageId?: string | null;
  /** A bot's question: the step whose answers it offers. */
  chatbotStepId?: number | null;
  /** A bot's message sending the visitor to this address. */
  redirectUrl?: string | null;
}

/**
 * Stores a message in a session the caller has locked, with the next seq: seq order is commit
 * order within a session, which lets streams resume from a seq without a gap.
 */
export async function appendMessage(tx: DbOrTx, session: LiveChatSessionRow, message: NewChatMessage): Promise<ChatMessageRow> {
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
      chatbotStepId: message.chatbotStepId ?? null,
      redirectUrl: message.redirectUrl ?? null,
    })
    .returning();
  publishChatMessageAdded(tx, row!);
  return row!;
}

/** Locks a session, or fails with NOT_FOUND. */
export async function lockSession(tx: DbOrTx, sessionId: number): Promise<LiveChatSessionRow> {
  const [session] = await tx.select().from(liveChatSessions).where(eq(liveChatSessions.id, sessionId)).for('update');
  if (!session) fail('sessionId', 'NOT_FOUND', 'No live chat session has this id.');
  return session;
}

/** The visitor's, operators' and bot's messages of a session, as a ticket's transcript takes them. */
export async function transcriptMessages(db: DbOrTx, sessionId: number): Promise<ChatMessageRow[]> {
  return db
    .select()
    .from(liveChatMessages)
    .where(
      and(
        eq(liveChatMessages.sessionId, sessionId),
        eq(liveChatMessages.inTranscript, true),
        eq(liveChatMessages.operatorOnly, false),
        sql`${liveChatMessages.authorKind} in ('VISITOR', 'OPERATOR', 'BOT')`,
      ),
    )
    .orderBy(asc(liveChatMessages.seq));
}

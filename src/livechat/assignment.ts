import { and, asc, eq, sql } from 'drizzle-orm';
import { findAgent } from '../auth/service.js';
import type { DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { publishSessionChanged } from './events.js';
import { appendMessage } from './message-store.js';
import { isConnected } from './presence.js';
import { chooseOperator, hasRoom, type OperatorCandidate } from './rules.js';
import { liveChatOperators, liveChatOperatorStatuses, liveChatSessions, type LiveChatChannelRow, type LiveChatSessionRow } from './tables.js';

/** Operators of the channel who are online (accepting and connected), with their load. */
export async function onlineOperators(db: DbOrTx, channelId: number): Promise<OperatorCandidate[]> {
  const rows = await db
    .select({
      agentId: liveChatOperators.agentId,
      languages: liveChatOperatorStatuses.languages,
      lastAssignedAt: liveChatOperatorStatuses.lastAssignedAt,
      openSessions: sql<number>`(select count(*) from ${liveChatSessions} s where s.channel_id = ${liveChatOperators.channelId} and s.operator_id = ${liveChatOperators.agentId} and s.status = 'OPEN')`.mapWith(Number),
    })
    .from(liveChatOperators)
    .innerJoin(liveChatOperatorStatuses, and(eq(liveChatOperatorStatuses.agentId, liveChatOperators.agentId), eq(liveChatOperatorStatuses.accepting, true)))
    .where(and(eq(liveChatOperators.channelId, channelId), isConnected(liveChatOperators.channelId, liveChatOperators.agentId)))
    .orderBy(asc(liveChatOperators.agentId));
  return rows;
}

/**
 * Gives a session (locked by the caller, channel locked too) to an operator: the session opens
 * with the channel's welcome message, authored by the operator.
 */
export async function assignSession(tx: DbOrTx, channel: LiveChatChannelRow, session: LiveChatSessionRow, agentId: number): Promise<LiveChatSessionRow> {
  const [updated] = await tx
    .update(liveChatSessions)
    .set({ status: 'OPEN', operatorId: agentId, lastActivityAt: sql`now()` })
    .where(eq(liveChatSessions.id, session.id))
    .returning();
  await tx
    .insert(liveChatOperatorStatuses)
    .values({ agentId, lastAssignedAt: sql`now()` })
    .onConflictDoUpdate({ target: liveChatOperatorStatuses.agentId, set: { lastAssignedAt: sql`now()` } });
  const operator = await findAgent(tx, agentId);
  await appendMessage(tx, updated!, { authorKind: 'OPERATOR', authorName: operator?.name ?? 'Operator', agentId, body: channel.welcomeMessage, inTranscript: false });
  publishSessionChanged(tx, updated!);
  return updated!;
}

/**
 * Serves the channel's waiting line, first come first served, while online operators have
 * room; the visitors still waiting hear of their new position. The channel must be locked.
 */
export async function assignWaitingSessions(tx: DbOrTx, channel: LiveChatChannelRow, options: { lineChanged?: boolean } = {}): Promise<void> {
  const waiting = await tx
    .select()
    .from(liveChatSessions)
    .where(and(eq(liveChatSessions.channelId, channel.id), eq(liveChatSessions.status, 'WAITING')))
    .orderBy(asc(liveChatSessions.id))
    .for('update');
  if (waiting.length === 0) return;
  const candidates = channel.enabled ? await onlineOperators(tx, channel.id) : [];
  let served = 0;
  for (const session of waiting) {
    const withRoom = candidates.filter((c) => hasRoom(c.openSessions, channel.maxSessionsPerOperator));
    const agentId = chooseOperator(withRoom, { previousOperatorId: null, language: session.language });
    if (agentId === null) break;
    await assignSession(tx, channel, session, agentId);
    const chosen = candidates.find((c) => c.agentId === agentId)!;
    chosen.openSessions += 1;
    chosen.lastAssignedAt = new Date();
    served += 1;
  }
  if (served === 0 && !options.lineChanged) return;
  for (const session of waiting.slice(served)) publishSessionChanged(tx, session);
}

/** Places in line of every waiting session of these channels, 1 first: one query for a whole list. */
export async function queuePositionsOfChannels(db: DbOrTx, channelIds: readonly number[]): Promise<Map<number, number>> {
  if (channelIds.length === 0) return new Map();
  const rows = await db
    .select({ id: liveChatSessions.id, position: sql<number>`row_number() over (partition by ${liveChatSessions.channelId} order by ${liveChatSessions.id})`.mapWith(Number) })
    .from(liveChatSessions)
    .where(and(isAnyOf(liveChatSessions.channelId, [...new Set(channelIds)]), eq(liveChatSessions.status, 'WAITING')));
  return new Map(rows.map((row) => [row.id, row.position]));
}

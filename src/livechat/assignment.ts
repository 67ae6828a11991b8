import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { findAgent } from '../auth/service.js';
import type { DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { publishSessionChanged } from './events.js';
import { appendMessage } from './message-store.js';
import { isConnected } from './presence.js';
import { chooseOperator, hasRoom, type OperatorCandidate } from './rules.js';
import { liveChatMessages, liveChatOperators, liveChatOperatorStatuses, liveChatSessions, type LiveChatChannelRow, type LiveChatSessionRow } from './tables.js';

/*
 * Lock order of live chat, the one every path follows: the channel row, then its session rows
 * (the waiting line in id order), nothing after. An operator's status row is written only by
 * setOperatorStatus, in a statement of its own, before it serves any line; assignment reads it
 * and never writes it, and "idle longest" comes from the messages an operator wrote (welcome
 * messages of assignments included), so no transaction holds a channel and waits for a status
 * row, or the other way round.
 */

/** Operators of the channel who are online (accepting and connected), with their load. */
export async function onlineOperators(db: DbOrTx, channelId: number): Promise<OperatorCandidate[]> {
  return onlineOperatorsQuery(db, channelId, {});
}

/**
 * What a start decides by, in one statement: the online operators, each row also saying whether
 * anyone waits in the channel's line (whether, not how many: one index probe however long the
 * line; no operator online, no rows: nobody to serve, so the line does not matter).
 */
export async function onlineOperatorsAndLine(db: DbOrTx, channelId: number): Promise<{ online: OperatorCandidate[]; anyoneWaits: boolean }> {
  const rows = await onlineOperatorsQuery(db, channelId, {
    anyoneWaits: sql<boolean>`exists (select 1 from ${liveChatSessions} w where w.channel_id = ${channelId} and w.status = 'WAITING')`,
  });
  return { online: rows.map(({ anyoneWaits: _, ...candidate }) => candidate), anyoneWaits: rows[0]?.anyoneWaits ?? false };
}

function onlineOperatorsQuery<Extra extends Record<string, SQL.Aliased | SQL>>(db: DbOrTx, channelId: number, extra: Extra) {
  return db
    .select({
      agentId: liveChatOperators.agentId,
      languages: liveChatOperatorStatuses.languages,
      lastActiveAt: sql<Date | null>`(select max(m.created_at) from ${liveChatMessages} m where m.agent_id = ${liveChatOperators.agentId})`.mapWith((v) => (v === null ? null : new Date(v))),
      // Served by the partial index live_chat_sessions_open_operator (channel, operator) of OPEN sessions.
      openSessions: sql<number>`(select count(*) from ${liveChatSessions} s where s.channel_id = ${liveChatOperators.channelId} and s.operator_id = ${liveChatOperators.agentId} and s.status = 'OPEN')`.mapWith(Number),
      ...extra,
    })
    .from(liveChatOperators)
    .innerJoin(liveChatOperatorStatuses, and(eq(liveChatOperatorStatuses.agentId, liveChatOperators.agentId), eq(liveChatOperatorStatuses.accepting, true)))
    .where(and(eq(liveChatOperators.channelId, channelId), isConnected(liveChatOperators.channelId, liveChatOperators.agentId)))
    .orderBy(asc(liveChatOperators.agentId));
}

/**
 * Gives a session (locked by the caller, channel locked too) to an operator: the session opens
 * with the channel's welcome message, authored by the operator (which also marks the operator
 * active, for "idle longest").
 */
export async function assignSession(tx: DbOrTx, channel: LiveChatChannelRow, session: LiveChatSessionRow, agentId: number): Promise<LiveChatSessionRow> {
  const [updated] = await tx
    .update(liveChatSessions)
    .set({ status: 'OPEN', operatorId: agentId, lastActivityAt: sql`now()` })
    .where(eq(liveChatSessions.id, session.id))
    .returning();
  const operator = await findAgent(tx, agentId);
  await appendMessage(tx, updated!, { authorKind: 'OPERATOR', authorName: operator?.name ?? 'Operator', agentId, body: channel.welcomeMessage, inTranscript: false });
  publishSessionChanged(tx, updated!);
  return updated!;
}

/**
 * Serves the channel's waiting line, first come first served, while online operators have
 * room (a returning visitor's previous operator first, as at the start); the visitors still
 * waiting hear of their new position. The channel must be locked.
 */
export async function assignWaitingSessions(tx: DbOrTx, channel: LiveChatChannelRow, options: { lineChanged?: boolean } = {}): Promise<void> {
  const waiting = await lockWaitingLine(tx, channel.id);
  if (waiting.length === 0) return;
  const candidates = channel.enabled ? await onlineOperators(tx, channel.id) : [];
  let served = 0;
  for (const session of waiting) {
    const withRoom = candidates.filter((c) => hasRoom(c.openSessions, channel.maxSessionsPerOperator));
    const agentId = chooseOperator(withRoom, { previousOperatorId: session.preferredOperatorId, language: session.language });
    if (agentId === null) break;
    await assignSession(tx, channel, session, agentId);
    const chosen = candidates.find((c) => c.agentId === agentId)!;
    chosen.openSessions += 1;
    chosen.lastActiveAt = new Date();
    served += 1;
  }
  if (served === 0 && !options.lineChanged) return;
  for (const session of waiting.slice(served)) publishSessionChanged(tx, session);
}

/**
 * Operators who left the channel (or were removed) can no longer answer: their open sessions
 * go back to the line, each with a word to its visitor, and the line is served at once. The
 * channel must be locked.
 */
export async function returnSessionsToLine(tx: DbOrTx, channel: LiveChatChannelRow, agentIds: number[]): Promise<void> {
  if (agentIds.length === 0) return;
  const open = await tx
    .select()
    .from(liveChatSessions)
    .where(and(eq(liveChatSessions.channelId, channel.id), eq(liveChatSessions.status, 'OPEN'), inArray(liveChatSessions.operatorId, agentIds)))
    .orderBy(asc(liveChatSessions.id))
    .for('update');
  if (open.length === 0) return;
  const names = new Map<number, string>();
  for (const session of open) {
    const agentId = session.operatorId!;
    if (!names.has(agentId)) names.set(agentId, (await findAgent(tx, agentId))?.name ?? 'The operator');
    await appendMessage(tx, session, { authorKind: 'SYSTEM', authorName: 'System', body: `${names.get(agentId)} left the conversation; the next free operator will answer.`, inTranscript: false });
  }
  await tx
    .update(liveChatSessions)
    .set({ status: 'WAITING', operatorId: null })
    .where(inArray(liveChatSessions.id, open.map((s) => s.id)));
  // Served first come first served with the others: they are older than anyone who came since.
  await assignWaitingSessions(tx, channel, { lineChanged: true });
}

/**
 * Ends the waiting line of a channel switched off: each waiting visitor hears it and the
 * session closes. The channel must be locked.
 */
export async function closeWaitingLine(tx: DbOrTx, channel: LiveChatChannelRow, body: string): Promise<void> {
  const waiting = await lockWaitingLine(tx, channel.id);
  for (const session of waiting) {
    await appendMessage(tx, session, { authorKind: 'SYSTEM', authorName: 'System', body, inTranscript: false });
    const [closed] = await tx.update(liveChatSessions).set({ status: 'CLOSED', closedAt: sql`now()` }).where(eq(liveChatSessions.id, session.id)).returning();
    publishSessionChanged(tx, closed!);
  }
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

/** The channel's waiting line, first come first, its rows locked for the caller's transaction. */
function lockWaitingLine(tx: DbOrTx, channelId: number) {
  return tx
    .select()
    .from(liveChatSessions)
    .where(and(eq(liveChatSessions.channelId, channelId), eq(liveChatSessions.status, 'WAITING')))
    .orderBy(asc(liveChatSessions.id))
    .for('update');
}

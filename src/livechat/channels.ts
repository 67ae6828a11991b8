import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { findAgent } from '../auth/service.js';
import type { DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { ErrorCollector, fail, requiredText } from '../errors.js';
import type { TeamRow } from '../teams/service.js';
import { assignWaitingSessions, closeWaitingLine, returnSessionsToLine } from './assignment.js';
import { isConnected } from './presence.js';
import { CHANNEL_DEFAULTS, isColor } from './rules.js';
import { normalizeOrigin, type LiveChatOfflineBehavior } from './widget-rules.js';
import { liveChatChannels, liveChatOperators, liveChatOperatorStatuses, liveChatSessions, type LiveChatChannelRow } from './tables.js';
import { chatTransaction } from './events.js';
import { sendControlSignal } from './control.js';
import { availabilityOf, channelIdsOfOperator, publishAvailabilityChanged } from './availability.js';
import { cutByCodePoints } from '../text/clean.js';

export type { LiveChatChannelRow } from './tables.js';

const MAX_NAME = 120;
const MAX_OPTION_TEXT = 500;
const COLOR_FIELDS = ['headerBackgroundColor', 'titleColor', 'buttonBackgroundColor', 'buttonTextColor'] as const;
const TEXT_FIELDS = ['buttonText', 'welcomeMessage', 'inputPlaceholder'] as const;

export const SWITCHED_OFF_MESSAGE = 'Live chat was switched off: leave a message instead.';

/**
 * Team write hook: switching useLiveChat on creates the team's channel (named after the team)
 * or restores it, and serves whoever waits in its line; switching it off disables it, keeps its
 * history and open conversations, and closes the waiting line with a word to each visitor.
 */
export async function syncChannelWithTeam(tx: DbOrTx, team: TeamRow): Promise<void> {
  const [channel] = await tx.select().from(liveChatChannels).where(eq(liveChatChannels.teamId, team.id)).for('update');
  if (channel) {
    if (channel.enabled === team.useLiveChat) return;
    const [switched] = await tx.update(liveChatChannels).set({ enabled: team.useLiveChat }).where(eq(liveChatChannels.id, channel.id)).returning();
    await publishAvailabilityChanged(tx, [channel.id]);
    await chatTransaction(tx, (chatTx) => (switched!.enabled ? assignWaitingSessions(chatTx, switched!, { lineChanged: true }) : closeWaitingLine(chatTx, switched!, SWITCHED_OFF_MESSAGE)));
    return;
  }
  if (!team.useLiveChat) return;
  await tx.insert(liveChatChannels).values({ teamId: team.id, name: cutByCodePoints(team.name, MAX_NAME), enabled: true, ...CHANNEL_DEFAULTS });
}

/** Whether the agent operates the channel (the operatorOf scope's lookup). */
export async function isOperatorOf(db: DbOrTx, channelId: number, agentId: number): Promise<boolean> {
  const [row] = await db
    .select({ agentId: liveChatOperators.agentId })
    .from(liveChatOperators)
    .where(and(eq(liveChatOperators.channelId, channelId), eq(liveChatOperators.agentId, agentId)));
  return row !== undefined;
}

export async function findChannel(db: DbOrTx, id: number): Promise<LiveChatChannelRow | undefined> {
  const [channel] = await db.select().from(liveChatChannels).where(eq(liveChatChannels.id, id));
  return channel;
}

/** Channels by id, in one query (a per-parent field across a list). */
export async function findChannels(db: DbOrTx, ids: readonly number[]): Promise<LiveChatChannelRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(liveChatChannels).where(isAnyOf(liveChatChannels.id, [...new Set(ids)]));
}

/** The channel behind a public channel key (embed code, direct link), if any. */
export async function findChannelByKey(db: DbOrTx, key: string): Promise<LiveChatChannelRow | undefined> {
  if (key.length > 100) return undefined;
  const [channel] = await db.select().from(liveChatChannels).where(eq(liveChatChannels.key, key));
  return channel;
}

export async function channelsOfTeams(db: DbOrTx, teamIds: number[]): Promise<LiveChatChannelRow[]> {
  if (teamIds.length === 0) return [];
  return db.select().from(liveChatChannels).where(inArray(liveChatChannels.teamId, teamIds));
}

/** Locks a channel: assignment, operator changes and the waiting line of one channel happen one at a time. */
export async function lockChannel(tx: DbOrTx, id: number, field = 'channelId'): Promise<LiveChatChannelRow> {
  const [channel] = await tx.select().from(liveChatChannels).where(eq(liveChatChannels.id, id)).for('update');
  if (!channel) fail(field, 'NOT_FOUND', 'No live chat channel has this id.');
  return channel;
}

export interface UpdateChannelInput {
  channelId: number;
  name?: string | null;
  buttonText?: string | null;
  welcomeMessage?: string | null;
  inputPlaceholder?: string | null;
  headerBackgroundColor?: string | null;
  titleColor?: string | null;
  buttonBackgroundColor?: string | null;
  buttonTextColor?: string | null;
  /** Puts the four colours back to their defaults (before any colour given in the same input). */
  resetColors?: boolean | null;
  /** undefined leaves it; null removes the cap. */
  maxSessionsPerOperator?: number | null;
  /** Replaces the list; empty: any origin. */
  allowedOrigins?: readonly string[] | null;
  offlineBehavior?: LiveChatOfflineBehavior | null;
}

const MAX_ALLOWED_ORIGINS = 50;

export async function updateChannel(db: DbOrTx, input: UpdateChannelInput): Promise<LiveChatChannelRow> {
  const errors = new ErrorCollector();
  const changes: Partial<LiveChatChannelRow> = {};
  if (input.name != null) changes.name = requiredText(errors, 'name', input.name, MAX_NAME);
  for (const field of TEXT_FIELDS) {
    if (input[field] != null) changes[field] = requiredText(errors, field, input[field], MAX_OPTION_TEXT);
  }
  if (input.resetColors) for (const field of COLOR_FIELDS) changes[field] = CHANNEL_DEFAULTS[field];
  for (const field of COLOR_FIELDS) {
    const value = input[field];
    if (value == null) continue;
    if (isColor(value.trim())) changes[field] = value.trim().toUpperCase();
    else errors.add(field, 'INVALID_COLOR', `${field} must be a colour written #RRGGBB, e.g. #875A7B.`);
  }
  if (input.maxSessionsPerOperator !== undefined) {
    const cap = input.maxSessionsPerOperator;
    if (cap !== null && (!Number.isInteger(cap) || cap < 1 || cap > 1000)) {
      errors.add('maxSessionsPerOperator', 'INVALID_NUMBER', 'maxSessionsPerOperator must be 1 to 1000, or null for no cap.');
    } else changes.maxSessionsPerOperator = cap;
  }
  if (input.allowedOrigins != null) {
    const origins = input.allowedOrigins.map(normalizeOrigin);
    const bad = input.allowedOrigins.find((_, i) => origins[i] === null);
    if (input.allowedOrigins.length > MAX_ALLOWED_ORIGINS) errors.add('allowedOrigins', 'TOO_MANY', `allowedOrigins may list at most ${MAX_ALLOWED_ORIGINS} origins.`);
    else if (bad !== undefined) errors.add('allowedOrigins', 'INVALID_URL', `allowedOrigins entries must be origins written scheme://host[:port], e.g. https://shop.example.com (no path): "${bad.slice(0, 100)}" is not.`);
    else changes.allowedOrigins = [...new Set(origins as string[])];
  }
  if (input.offlineBehavior != null) changes.offlineBehavior = input.offlineBehavior;
  errors.throwIfAny();
  return chatTransaction(db, async (tx) => {
    const current = await lockChannel(tx, input.channelId);
    if (Object.keys(changes).length === 0) return current;
    const [channel] = await tx.update(liveChatChannels).set(changes).where(eq(liveChatChannels.id, current.id)).returning();
    if (changes.offlineBehavior !== undefined && changes.offlineBehavior !== current.offlineBehavior) await publishAvailabilityChanged(tx, [channel!.id]);
    // A raised cap makes room: waiting visitors may be served now.
    if (changes.maxSessionsPerOperator !== undefined) await assignWaitingSessions(tx, channel!);
    return channel!;
  });
}

async function existingAgentIds(tx: DbOrTx, agentIds: number[]): Promise<number[]> {
  const found = await Promise.all(agentIds.map((id) => findAgent(tx, id)));
  return found.flatMap((agent) => (agent ? [agent.id] : []));
}

export async function addOperators(db: DbOrTx, channelId: number, agentIds: number[]): Promise<LiveChatChannelRow> {
  return chatTransaction(db, async (tx) => {
    const channel = await lockChannel(tx, channelId);
    const unique = [...new Set(agentIds)];
    const found = await existingAgentIds(tx, unique);
    if (found.length !== unique.length) fail('agentIds', 'NOT_FOUND', 'agentIds must name existing agents.');
    if (unique.length) {
      await tx
        .insert(liveChatOperators)
        .values(unique.map((agentId) => ({ channelId: channel.id, agentId })))
        .onConflictDoNothing();
      await publishAvailabilityChanged(tx, [channel.id]);
      await assignWaitingSessions(tx, channel);
    }
    return channel;
  });
}

/** Removes operators (or one who leaves); their open sessions go back to the line, served at once. */
export async function removeOperators(db: DbOrTx, channelId: number, agentIds: number[]): Promise<LiveChatChannelRow> {
  return chatTransaction(db, async (tx) => {
    const channel = await lockChannel(tx, channelId);
    if (agentIds.length) {
      const removed = await tx
        .delete(liveChatOperators)
        .where(and(eq(liveChatOperators.channelId, channel.id), inArray(liveChatOperators.agentId, agentIds)))
        .returning({ agentId: liveChatOperators.agentId });
      await publishAvailabilityChanged(tx, [channel.id]);
      await returnSessionsToLine(
        tx,
        channel,
        removed.map((r) => r.agentId),
      );
      // Their streams of this channel end once this commits.
      await sendControlSignal(tx, { kind: 'operatorsRemoved', channelId: channel.id, agentIds: [...new Set(agentIds)] });
    }
    return channel;
  });
}

export interface OperatorStatusRow {
  agentId: number;
  accepting: boolean;
  languages: string[];
}

const MAX_LANGUAGES = 20;
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/;

/** The calling agent says whether it takes chats, and which languages it speaks. */
export async function setOperatorStatus(db: DbOrTx, agentId: number, input: { accepting: boolean; languages?: string[] | null }): Promise<OperatorStatusRow> {
  const languages = input.languages?.map((l) => l.trim()).filter(Boolean);
  if (languages && (languages.length > MAX_LANGUAGES || languages.some((l) => l.length > 35 || !LANGUAGE_TAG.test(l)))) {
    fail('languages', 'INVALID_LANGUAGE', `languages must be at most ${MAX_LANGUAGES} language tags such as "en" or "fr-BE".`);
  }
  // The status row is written in a statement of its own and committed before any channel is
  // locked: assignment locks a channel and reads status rows, so holding this row while waiting
  // for a channel would deadlock against it (the lock order is in assignment.ts).
  const [row] = await db
    .insert(liveChatOperatorStatuses)
    .values({ agentId, accepting: input.accepting, languages: languages ?? [] })
    .onConflictDoUpdate({
      target: liveChatOperatorStatuses.agentId,
      set: { accepting: input.accepting, ...(languages ? { languages } : {}) },
    })
    .returning();
  await publishAvailabilityChanged(db, await channelIdsOfOperator(db, agentId));
  if (input.accepting) await assignWaitingInChannelsOf(db, agentId);
  return { agentId: row!.agentId, accepting: row!.accepting, languages: row!.languages };
}

/**
 * An operator became reachable: waiting visitors of its channels may be served, each channel
 * in a transaction of its own (called with a transaction, all run in it).
 */
export async function assignWaitingInChannelsOf(db: DbOrTx, agentId: number, onlyChannelId?: number): Promise<void> {
  const waiting = await db
    .selectDistinct({ channelId: liveChatSessions.channelId })
    .from(liveChatSessions)
    .innerJoin(liveChatOperators, and(eq(liveChatOperators.channelId, liveChatSessions.channelId), eq(liveChatOperators.agentId, agentId)))
    .where(and(eq(liveChatSessions.status, 'WAITING'), onlyChannelId === undefined ? undefined : eq(liveChatSessions.channelId, onlyChannelId)))
    .orderBy(asc(liveChatSessions.channelId));
  for (const { channelId } of waiting) await chatTransaction(db, async (tx) => assignWaitingSessions(tx, await lockChannel(tx, channelId)));
}

export interface OperatorView {
  agentId: number;
  accepting: boolean;
  connected: boolean;
  openSessions: number;
  languages: string[];
}

/** The channel's operators with their state, by agent id. */
export async function operatorsOf(db: DbOrTx, channelId: number): Promise<OperatorView[]> {
  return db
    .select({
      agentId: liveChatOperators.agentId,
      accepting: sql<boolean>`coalesce(${liveChatOperatorStatuses.accepting}, false)`.mapWith(Boolean),
      connected: sql<boolean>`${isConnected(liveChatOperators.channelId, liveChatOperators.agentId)}`.mapWith(Boolean),
      openSessions: sql<number>`(select count(*) from ${liveChatSessions} s where s.channel_id = ${liveChatOperators.channelId} and s.operator_id = ${liveChatOperators.agentId} and s.status = 'OPEN')`.mapWith(Number),
      languages: sql<string[]>`coalesce(${liveChatOperatorStatuses.languages}, '{}')`,
    })
    .from(liveChatOperators)
    .leftJoin(liveChatOperatorStatuses, eq(liveChatOperatorStatuses.agentId, liveChatOperators.agentId))
    .where(eq(liveChatOperators.channelId, channelId))
    .orderBy(asc(liveChatOperators.agentId));
}

/** Which of these channels someone would answer now or after a wait: on, with an operator accepting and connected. One query (the one liveChatAvailability reads). */
export async function availableChannelIds(db: DbOrTx, channelIds: readonly number[]): Promise<Set<number>> {
  const states = await availabilityOf(db, [...new Set(channelIds)]);
  return new Set([...states].filter(([, state]) => state.available).map(([id]) => id));
}

/** True when someone would answer a new visitor, perhaps after a wait (as liveChatAvailability says). */
export async function isChannelAvailable(db: DbOrTx, channel: LiveChatChannelRow): Promise<boolean> {
  if (!channel.enabled) return false;
  return (await availabilityOf(db, [channel.id])).get(channel.id)?.available ?? false;
}

import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gte, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import { agentNameSql, findAgent, generateVisitorToken, hashToken, startVisitorTokenExpiry, visitorTokenInsertSql } from '../auth/service.js';
import { inTransaction, queryRows, type DbOrTx } from '../db/client.js';
import { liveNotification } from '../events/hub.js';
import { isAnyOf, rowFromDriver } from '../db/columns.js';
import { defineKeyset, pageOf, type PageRequest } from '../db/keyset.js';
import { ErrorCollector, fail } from '../errors.js';
import { isEmailAddress } from '../text/email-address.js';
import { assignWaitingSessions, onlineOperators, onlineOperatorsAndLine } from './assignment.js';
import { chatMessageAdded, chatTransaction, liveChatSessionChanged, MESSAGE_JSON, publishSessionChanged, visitorSessionChanged } from './events.js';
import { sendControlSignal } from './control.js';
import { isOperatorOf, lockChannel } from './channels.js';
import { appendMessage, lockSession } from './message-store.js';
import type { ChatActor } from './messages.js';
import { hitRateLimit } from './ratelimit.js';
import { chooseOperator, clientBucketOf, hasRoom, satisfactionOf, type RatingValue, type Satisfaction } from './rules.js';
import { liveChatMessages, liveChatRatings, liveChatSessions, liveChatSessionTickets, type LiveChatSessionRow } from './tables.js';
import { cleanTypedLine, isLongerThan } from '../text/clean.js';
import { loadChatbotScript } from '../chatbot/service.js';
import { CHATBOT_START_STATE, chatbotScriptOfVisit, openChatbot, startsWithChatbot } from './chatbot-runtime.js';
import { channelIdsAttaching } from './widget.js';

export type LiveChatRatingRow = typeof liveChatRatings.$inferSelect;

const DEFAULT_VISITOR_NAME = 'Visitor';

export interface StartLiveChatInput {
  channelId: number;
  visitorName?: string | null;
  visitorEmail?: string | null;
  pageUrl?: string | null;
  language?: string | null;
  previousSessionKey?: string | null;
  clientAddress?: string | null;
  /** The visitor's ISO country code when known (trusted header or the offline address table). */
  country?: string | null;
}

export interface StartSettings {
  sessionsPerHourPerClient: number;
  openSessionsPerAddress: number;
}

/**
 * Opens a session for a visitor: assigned to an online operator with room, or waiting in line
 * when all are at their cap. Returns the visitor token (this session only) and the session key
 * the browser keeps to come back; both are shown once.
 */
export async function startLiveChat(db: DbOrTx, settings: StartSettings, input: StartLiveChatInput) {
  const errors = new ErrorCollector();
  // A name is one line, cleaned as message bodies are (no controls, no bidirectional overrides).
  const visitorName = cleanTypedLine(input.visitorName ?? '') || DEFAULT_VISITOR_NAME;
  if (isLongerThan(visitorName, 120)) errors.add('visitorName', 'TOO_LONG', 'visitorName must be at most 120 characters.');
  const visitorEmail = input.visitorEmail?.trim() || null;
  if (visitorEmail && !isEmailAddress(visitorEmail)) errors.add('visitorEmail', 'INVALID_EMAIL', 'visitorEmail must be an email address such as jane@example.com.');
  const pageUrl = input.pageUrl?.trim() || null;
  if (pageUrl && (isLongerThan(pageUrl, 2000) || !/^https?:\/\//i.test(pageUrl))) errors.add('pageUrl', 'INVALID_URL', 'pageUrl must be an http(s) address of at most 2000 characters.');
  const language = input.language?.trim() || null;
  if (language && !/^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$/.test(language)) errors.add('language', 'INVALID_LANGUAGE', 'language must be a language tag such as "en" or "fr-BE".');
  if ((input.previousSessionKey?.length ?? 0) > 200) errors.add('previousSessionKey', 'INVALID_KEY', 'previousSessionKey is not a session key.');
  errors.throwIfAny();
  // Per-client limits count an IPv6 address by its /64.
  const client = input.clientAddress ? clientBucketOf(input.clientAddress) : null;
  if (client) await hitRateLimit(db, { key: `chat-sessions:${client}`, limit: settings.sessionsPerHourPerClient, windowSeconds: 3600 });

  // Everything that needs no lock comes first: the channel's lock is held for two statements
  // (the lock with the read it decides by, then the session with all it writes) and the commit.
  const sessionKey = randomBytes(24).toString('base64url');
  const visitorToken = generateVisitorToken();
  const previousOperatorId = input.previousSessionKey ? await previousOperatorOf(db, input.channelId, input.previousSessionKey) : null;
  // The script the rule of this page and country attaches, if any, read as liveChatWidget reads it.
  const bot = await chatbotScriptOfVisit(db, input.channelId, { pageUrl, country: input.country ?? null });
  const session = await inTransaction(db, async (tx) => {
    // Before the channel lock, so that a client at its limit never holds the channel.
    if (client) await holdClientSlot(tx, client, settings.openSessionsPerAddress);
    // The read goes out with the lock, so it runs the moment the lock is granted, on a snapshot
    // of its own taken then (every statement takes one): no round trip to us in between.
    const [channel, { online, anyoneWaits }] = await Promise.all([lockChannel(tx, input.channelId), onlineOperatorsAndLine(tx, input.channelId)]);
    if (!channel.enabled) fail('channelId', 'CHANNEL_UNAVAILABLE', 'Live chat is switched off for this team.');
    // A bot whose condition holds answers first: no operator needed, no line, no welcome (the script greets).
    const withBot = startsWithChatbot(bot, online, channel.maxSessionsPerOperator);
    if (!withBot && online.length === 0) fail('channelId', 'NO_OPERATOR_AVAILABLE', 'No operator is online: leave a message instead.');
    // Visitors already in line come first: a newcomer is served directly only when nobody waits.
    const withRoom = withBot || anyoneWaits ? [] : online.filter((o) => hasRoom(o.openSessions, channel.maxSessionsPerOperator));
    const agentId = chooseOperator(withRoom, { previousOperatorId, language });
    const created = await insertStart(
      tx,
      {
        channelId: channel.id,
        ...(withBot ? { chatbotScriptId: bot.script.id, chatbotPhase: 'RUNNING' as const, chatbotState: CHATBOT_START_STATE } : {}),
        status: agentId === null && !withBot ? 'WAITING' : 'OPEN',
        operatorId: agentId,
        // An assigned session opens with the welcome message, seq 1.
        lastSeq: agentId === null ? 0 : 1,
        visitorName,
        visitorEmail,
        pageUrl,
        language,
        sessionKeyHash: hashToken(sessionKey),
        clientAddress: client,
        country: input.country ?? null,
        preferredOperatorId: previousOperatorId,
      },
      { welcomeMessage: channel.welcomeMessage, visitorTokenHash: hashToken(visitorToken) },
    );
    if (!withBot) return created;
    await openChatbot(tx, channel, created, bot.script);
    return (await findSession(tx, created.id))!;
  });
  return { session, visitorToken, sessionKey };
}

/**
 * An admin runs a script as a visitor would, without a website: a test session (left out of
 * lists and figures) on the channel named, else on a channel whose rule attaches the script.
 * Returns the session and its visitor token.
 */
export async function testChatbotScript(db: DbOrTx, input: { scriptId: number; channelId?: number | null }) {
  const script = await loadChatbotScript(db, input.scriptId);
  if (!script) fail('scriptId', 'NOT_FOUND', 'No chatbot script has this id.');
  const channelId = input.channelId ?? (await channelIdsAttaching(db, script.id))[0];
  if (channelId === undefined) fail('channelId', 'NOT_FOUND', 'No channel rule attaches this script: name the channel to test it on.');
  const visitorToken = generateVisitorToken();
  const session = await inTransaction(db, async (tx) => {
    const channel = await lockChannel(tx, channelId);
    const created = await insertStart(
      tx,
      {
        channelId: channel.id,
        status: 'OPEN',
        visitorName: 'Test visitor',
        sessionKeyHash: hashToken(randomBytes(24).toString('base64url')),
        test: true,
        chatbotScriptId: script.id,
        chatbotPhase: 'RUNNING',
        chatbotState: CHATBOT_START_STATE,
      },
      { welcomeMessage: '', visitorTokenHash: hashToken(visitorToken) },
    );
    await openChatbot(tx, channel, created, script);
    return (await findSession(tx, created.id))!;
  });
  return { session, visitorToken };
}

/**
 * A start's writes in one statement: the session, its visitor token (it resolves to a visitor
 * principal of this session through the Authenticator), and for an assigned session the welcome
 * message, authored by the operator (which is also the operator's latest activity, for "idle
 * longest": no write to the operator's status row under the channel lock, see assignment.ts);
 * then the notifications. Returns the session.
 */
async function insertStart(tx: DbOrTx, values: typeof liveChatSessions.$inferInsert, start: { welcomeMessage: string; visitorTokenHash: string }): Promise<LiveChatSessionRow> {
  const agentId = sql`${values.operatorId ?? null}::int`;
  const [row] = await queryRows(
    tx,
    sql`
    with s as (
      ${tx.insert(liveChatSessions).values(values).returning().getSQL()}
    ), token as (
      ${visitorTokenInsertSql(sql`(select id from s)`, start.visitorTokenHash)} returning id
    ), m as (
      insert into ${liveChatMessages} (session_id, seq, author_kind, author_name, agent_id, body, operator_only, in_transcript)
      select s.id, 1, 'OPERATOR', coalesce(${agentNameSql(agentId)}, 'Operator'), ${agentId}, ${start.welcomeMessage}, false, false
      from s where ${agentId} is not null
      returning *
    ), sent as (
      select m.id, m.session_id, ${MESSAGE_JSON} as row from m
    ), notified as (
      select ${liveNotification(chatMessageAdded, sql`sent.id`, sql`sent.session_id`, sql`sent.row`)} from sent
      union all select ${liveNotification(liveChatSessionChanged, sql`s.id`, sql`s.channel_id`, sql`null::json`)} from s
      union all select ${liveNotification(visitorSessionChanged, sql`s.id`, sql`s.id`, sql`null::json`)} from s
    )
    select s.*, (select count(*) from token) as tokens, (select count(*) from notified) as notified from s`,
  );
  return rowFromDriver(liveChatSessions, row!);
}

/**
 * Fails unless the client holds fewer than `limit` open or waiting sessions. Starts from one
 * client queue on a lock of their own (held to commit), so that concurrent starts count each other.
 */
async function holdClientSlot(tx: DbOrTx, client: string, limit: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`livechat-client:${client}`}, 0))`);
  const open = await tx.$count(liveChatSessions, and(eq(liveChatSessions.clientAddress, client), sql`${liveChatSessions.status} <> 'CLOSED'`));
  if (open >= limit) fail(null, 'TOO_MANY_OPEN_SESSIONS', `At most ${limit} chats may be open at once from one address: close one first.`);
}

async function previousOperatorOf(tx: DbOrTx, channelId: number, sessionKey: string): Promise<number | null> {
  const [previous] = await tx
    .select({ operatorId: liveChatSessions.operatorId })
    .from(liveChatSessions)
    .where(and(eq(liveChatSessions.sessionKeyHash, hashToken(sessionKey)), eq(liveChatSessions.channelId, channelId)))
    .orderBy(desc(liveChatSessions.id))
    .limit(1);
  return previous?.operatorId ?? null;
}

/**
 * A channel's sessions that may have changed since a moment: every open or waiting one, and
 * those closed since (a few seconds' margin for clocks), for a feed that lost notifications.
 */
export async function sessionsChangedSince(db: DbOrTx, channelId: number, since: Date): Promise<LiveChatSessionRow[]> {
  return db
    .select()
    .from(liveChatSessions)
    .where(
      and(
        eq(liveChatSessions.channelId, channelId),
        sql`(${liveChatSessions.status} <> 'CLOSED' or ${liveChatSessions.closedAt} >= ${since.toISOString()}::timestamptz - interval '5 seconds')`,
      ),
    )
    .orderBy(asc(liveChatSessions.id));
}

export async function findSession(db: DbOrTx, id: number): Promise<LiveChatSessionRow | undefined> {
  const [session] = await db.select().from(liveChatSessions).where(eq(liveChatSessions.id, id));
  return session;
}

/** Session row unlocked first, to learn its channel: locks are always taken channel, then session. */
async function lockChannelAndSession(tx: DbOrTx, sessionId: number) {
  const found = await findSession(tx, sessionId);
  if (!found) fail('sessionId', 'NOT_FOUND', 'No live chat session has this id.');
  const channel = await lockChannel(tx, found.channelId, 'sessionId');
  const session = await lockSession(tx, sessionId);
  return { channel, session };
}

/** Ends a conversation, saying who left; a place frees, so the waiting line moves. */
export async function closeLiveChat(db: DbOrTx, actor: ChatActor | { kind: 'SYSTEM' }, sessionId: number): Promise<LiveChatSessionRow> {
  return chatTransaction(db, async (tx) => {
    const { channel, session } = await lockChannelAndSession(tx, sessionId);
    if (session.status === 'CLOSED') fail('sessionId', 'SESSION_CLOSED', 'This conversation is already closed.');
    const body =
      actor.kind === 'VISITOR'
        ? 'Visitor left the conversation.'
        : actor.kind === 'OPERATOR'
          ? `${actor.name} closed the conversation.`
          : 'The conversation was closed after a period of inactivity.';
    await appendMessage(tx, session, { authorKind: 'SYSTEM', authorName: 'System', body, inTranscript: false });
    const [closed] = await tx.update(liveChatSessions).set({ status: 'CLOSED', closedAt: sql`now()` }).where(eq(liveChatSessions.id, session.id)).returning();
    await startVisitorTokenExpiry(tx, session.id);
    await sendControlSignal(tx, { kind: 'sessionEnded', sessionId: session.id });
    publishSessionChanged(tx, closed!);
    // A visitor leaving the line moves everyone behind it up.
    await assignWaitingSessions(tx, channel, { lineChanged: session.status === 'WAITING' });
    return closed!;
  });
}

/**
 * Hands a session to another online operator of its channel, past the operator's cap if need
 * be (a person decided it); an admin may so hand a waiting session to someone. The place it
 * frees serves the line at once, and a session taken out of the line moves those behind it up.
 */
export async function transferLiveChat(
  db: DbOrTx,
  actor: { agentId: number | null; name: string; admin: boolean },
  input: { sessionId: number; agentId: number },
): Promise<LiveChatSessionRow> {
  return chatTransaction(db, async (tx) => {
    const { channel, session } = await lockChannelAndSession(tx, input.sessionId);
    if (!actor.admin && (actor.agentId === null || session.operatorId !== actor.agentId)) {
      fail('sessionId', 'FORBIDDEN', "Only the session's operator or an admin may transfer it.");
    }
    if (session.status === 'CLOSED') fail('sessionId', 'SESSION_CLOSED', 'This conversation is closed.');
    if (!(await isOperatorOf(tx, channel.id, input.agentId))) fail('agentId', 'NOT_AN_OPERATOR', 'agentId must be an operator of this channel.');
    if (!(await onlineOperators(tx, channel.id)).some((o) => o.agentId === input.agentId)) {
      fail('agentId', 'OPERATOR_OFFLINE', 'This operator is not online: choose one who is.');
    }
    const target = await findAgent(tx, input.agentId);
    const [moved] = await tx
      .update(liveChatSessions)
      // A session handed from its bot to a person stays with people.
      .set({ operatorId: input.agentId, status: 'OPEN', ...(session.chatbotPhase !== null ? { chatbotPhase: 'HANDED_OVER' as const, chatbotDueAt: null } : {}) })
      .where(eq(liveChatSessions.id, session.id))
      .returning();
    await appendMessage(tx, moved!, { authorKind: 'SYSTEM', authorName: 'System', body: `${actor.name} transferred the conversation to ${target!.name}.`, inTranscript: false });
    publishSessionChanged(tx, moved!);
    await assignWaitingSessions(tx, channel, { lineChanged: session.status === 'WAITING' });
    return (await findSession(tx, session.id))!;
  });
}

/** The visitor's rating, given once, after the close. */
export async function rateLiveChat(db: DbOrTx, input: { sessionId: number; rating: RatingValue; comment?: string | null }): Promise<LiveChatSessionRow> {
  const comment = input.comment?.trim() || null;
  if (comment && isLongerThan(comment, 2000)) fail('comment', 'TOO_LONG', 'comment must be at most 2000 characters.');
  return chatTransaction(db, async (tx) => {
    const session = await lockSession(tx, input.sessionId);
    if (session.status !== 'CLOSED') fail('sessionId', 'SESSION_OPEN', 'A conversation is rated once it is closed.');
    const rated = await tx
      .insert(liveChatRatings)
      .values({ sessionId: session.id, channelId: session.channelId, rating: input.rating, comment, operatorId: session.operatorId })
      .onConflictDoNothing({ target: liveChatRatings.sessionId })
      .returning({ sessionId: liveChatRatings.sessionId });
    if (rated.length === 0) fail('sessionId', 'ALREADY_RATED', 'This conversation was already rated.');
    return session;
  });
}

export async function ratingsOfSessions(db: DbOrTx, sessionIds: number[]): Promise<Map<number, LiveChatRatingRow>> {
  if (sessionIds.length === 0) return new Map();
  const rows = await db.select().from(liveChatRatings).where(isAnyOf(liveChatRatings.sessionId, sessionIds));
  return new Map(rows.map((r) => [r.sessionId, r]));
}

/** Ratings of test sessions (testChatbotScript) count nowhere. */
const notTestRating = sql`not exists (select 1 from ${liveChatSessions} ts where ts.id = ${liveChatRatings.sessionId} and ts.test)`;

export async function satisfactionOfChannel(db: DbOrTx, channelId: number, days: number): Promise<Satisfaction> {
  const rows = await db
    .select({ rating: liveChatRatings.rating, count: sql<number>`count(*)`.mapWith(Number) })
    .from(liveChatRatings)
    .where(and(eq(liveChatRatings.channelId, channelId), gte(liveChatRatings.createdAt, sql`now() - make_interval(days => ${days})`), notTestRating))
    .groupBy(liveChatRatings.rating);
  const count = (rating: RatingValue) => rows.find((r) => r.rating === rating)?.count ?? 0;
  return satisfactionOf({ satisfied: count('SATISFIED'), okay: count('OKAY'), dissatisfied: count('DISSATISFIED') });
}

/** The ratings log, newest first; a cursor is `rating:<ms>:<sessionId>`. */
const ratingKeyset = defineKeyset({
  prefix: 'rating',
  direction: 'desc',
  parts: [
    { name: 'createdAt', column: liveChatRatings.createdAt, kind: 'time' },
    { name: 'sessionId', column: liveChatRatings.sessionId, kind: 'int', sqlType: 'int', max: 2_147_483_647 },
  ],
});

export const ratingCursor = (rating: LiveChatRatingRow) => ratingKeyset.cursorOf(rating);

/** A page of the ratings log, newest first; a forged cursor fails with INVALID_CURSOR. */
export async function ratingsOfChannel(db: DbOrTx, channelId: number, request: PageRequest) {
  const plan = ratingKeyset.plan({ first: request.first, after: request.after });
  const rows = await db
    .select()
    .from(liveChatRatings)
    .where(
      and(
        eq(liveChatRatings.channelId, channelId),
        notTestRating,
        plan.cursor ? sql`(${liveChatRatings.createdAt}, ${liveChatRatings.sessionId}) < (${plan.cursor.createdAt.toISOString()}::timestamptz, ${plan.cursor.sessionId}::int)` : undefined,
      ),
    )
    .orderBy(...ratingKeyset.order(false))
    .limit(plan.size + 1);
  return { ...pageOf(rows, plan), totalCount: () => db.$count(liveChatRatings, and(eq(liveChatRatings.channelId, channelId), notTestRating)) };
}

/** A channel's sessions, newest first; a cursor is `id:<n>`. */
const sessionKeyset = defineKeyset({
  prefix: 'id',
  direction: 'desc',
  parts: [{ name: 'id', column: liveChatSessions.id, kind: 'int', sqlType: 'int', max: 2_147_483_647 }],
});

export const sessionCursor = (session: LiveChatSessionRow) => sessionKeyset.cursorOf(session);

/** A page of a channel's sessions, newest first, by status and operator; a forged cursor fails with INVALID_CURSOR. */
export async function sessionsOfChannel(
  db: DbOrTx,
  channelId: number,
  request: PageRequest & { status?: LiveChatSessionRow['status'] | null; operatorId?: number | null; test?: boolean | null; chatbot?: boolean | null },
) {
  const plan = sessionKeyset.plan({ first: request.first, after: request.after });
  const where = and(
    eq(liveChatSessions.channelId, channelId),
    // Test sessions only when asked for; the others unless only test ones are.
    eq(liveChatSessions.test, request.test ?? false),
    request.chatbot == null ? undefined : request.chatbot ? isNotNull(liveChatSessions.chatbotScriptId) : isNull(liveChatSessions.chatbotScriptId),
    request.status ? eq(liveChatSessions.status, request.status) : undefined,
    request.operatorId != null ? eq(liveChatSessions.operatorId, request.operatorId) : undefined,
  );
  const rows = await db
    .select()
    .from(liveChatSessions)
    .where(and(where, plan.cursor ? lt(liveChatSessions.id, plan.cursor.id) : undefined))
    .orderBy(...sessionKeyset.order(false))
    .limit(plan.size + 1);
  return { ...pageOf(rows, plan), totalCount: () => db.$count(liveChatSessions, where) };
}

/** The ids of the tickets made from each of these sessions, in one query. */
export async function ticketIdsOfSessions(db: DbOrTx, sessionIds: readonly number[]): Promise<Map<number, number[]>> {
  const byId = new Map<number, number[]>(sessionIds.map((id) => [id, []]));
  if (sessionIds.length === 0) return byId;
  const rows = await db
    .select({ sessionId: liveChatSessionTickets.sessionId, ticketId: liveChatSessionTickets.ticketId })
    .from(liveChatSessionTickets)
    .where(isAnyOf(liveChatSessionTickets.sessionId, [...new Set(sessionIds)]))
    .orderBy(asc(liveChatSessionTickets.ticketId));
  for (const row of rows) byId.get(row.sessionId)?.push(row.ticketId);
  return byId;
}

/** Sessions by id, in one query (a per-parent field across a list). */
export async function findSessions(db: DbOrTx, ids: readonly number[]): Promise<LiveChatSessionRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(liveChatSessions).where(isAnyOf(liveChatSessions.id, [...new Set(ids)]));
}

/** The chats several tickets were made from, by ticket id, in one query (Ticket.liveChatSession across a list). */
export async function sessionsOfTickets(db: DbOrTx, ticketIds: number[]): Promise<Map<number, LiveChatSessionRow>> {
  if (ticketIds.length === 0) return new Map();
  const rows = await db
    .select({ ticketId: liveChatSessionTickets.ticketId, session: liveChatSessions })
    .from(liveChatSessionTickets)
    .innerJoin(liveChatSessions, eq(liveChatSessions.id, liveChatSessionTickets.sessionId))
    .where(isAnyOf(liveChatSessionTickets.ticketId, ticketIds));
  return new Map(rows.map((row) => [row.ticketId, row.session]));
}

/** How long an empty session stays closed before it is removed: its close reaches every feed first. */
const REMOVAL_GRACE_SECONDS = 2;

export interface SweepSettings {
  idleCloseMinutes: number;
  emptySessionMinutes: number;
}

/**
 * Closes sessions idle too long, and removes sessions in which the visitor never wrote. Each
 * session is closed in its own transaction; a session another instance just closed is skipped.
 *
 * Idle: an open session without a message for the idle period. A waiting session waits on us,
 * not on its visitor: it closes only once the visitor is gone too (no open chat stream on any
 * instance, `visitor_seen_at`) for the idle period.
 *
 * Empty: the visitor never wrote, the session is older than the empty period, and nobody (the
 * visitor or an operator; our own system notes do not count) wrote within it. An open stream
 * alone is not activity. Such a session is closed if it is not (its feeds hear it), then
 * removed; the session's streams end.
 */
export async function sweepLiveChatSessions(db: DbOrTx, settings: SweepSettings): Promise<{ closed: number; removed: number }> {
  const emptyPeriod = sql`now() - make_interval(secs => ${settings.emptySessionMinutes * 60})`;
  const isEmpty = and(
    eq(liveChatSessions.visitorWrote, false),
    lt(liveChatSessions.createdAt, emptyPeriod),
    sql`not exists (select 1 from ${liveChatSessionTickets} t where t.session_id = ${liveChatSessions.id})`,
    sql`not exists (select 1 from ${liveChatRatings} r where r.session_id = ${liveChatSessions.id})`,
    sql`not exists (select 1 from ${liveChatMessages} m where m.session_id = ${liveChatSessions.id} and m.author_kind <> 'SYSTEM' and m.created_at >= ${emptyPeriod})`,
  );
  // Closed for a moment before it goes, so that operators' feeds see it leave (the change is
  // read from the row, which must still be there), and only then removed, with its streams.
  // Its streams end at their instance's next presence heartbeat (PresenceTracker).
  const removed = (
    await db
      .delete(liveChatSessions)
      .where(and(isEmpty, eq(liveChatSessions.status, 'CLOSED'), lt(liveChatSessions.closedAt, sql`now() - make_interval(secs => ${REMOVAL_GRACE_SECONDS})`)))
      .returning({ id: liveChatSessions.id })
  ).length;
  const idleSince = sql`now() - make_interval(secs => ${settings.idleCloseMinutes * 60})`;
  const idle = sql`(${lt(liveChatSessions.lastActivityAt, idleSince)} and (${liveChatSessions.status} = 'OPEN' or ${liveChatSessions.visitorSeenAt} is null or ${liveChatSessions.visitorSeenAt} < ${idleSince}))`;
  const toClose = await db
    .select({ id: liveChatSessions.id })
    .from(liveChatSessions)
    .where(and(sql`${liveChatSessions.status} <> 'CLOSED'`, or(idle, isEmpty)))
    .orderBy(asc(liveChatSessions.id))
    .limit(500);
  let closed = 0;
  for (const { id } of toClose) {
    try {
      await closeLiveChat(db, { kind: 'SYSTEM' }, id);
      closed += 1;
    } catch {
      // Closed or removed meanwhile by another instance or its visitor.
    }
  }
  return { closed, removed };
}

import { and, asc, desc, eq, gt, lt, sql, type SQL } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { defineKeyset } from '../db/keyset.js';
import { fail } from '../errors.js';
import { liveNotification } from '../events/hub.js';
import { isLongerThan } from '../text/clean.js';
import { findChannel, isOperatorOf } from './channels.js';
import { runChatCommand } from './commands.js';
import { reactToVisitor } from './chatbot-runtime.js';
import { chatMessageAdded, chatTransaction, MESSAGE_JSON, messageFromJson } from './events.js';
import { appendMessage, lockSession, type ChatMessageRow } from './message-store.js';
import { failRateLimitedAt, rateHitCtes, type RateLimit } from './ratelimit.js';
import { cleanChatBody, parseChatCommand, type ChatCommand } from './rules.js';
import { liveChatMessages, liveChatOperators, liveChatSessions } from './tables.js';
import { metricsOf } from '../observability/metrics.js';

export type { ChatAuthorKind, ChatMessageRow } from './message-store.js';

/** A session's messages in seq order; a cursor is `seq:<n>`, checked against int4. */
export const messageKeyset = defineKeyset({
  prefix: 'seq',
  direction: 'asc',
  parts: [{ name: 'seq', column: liveChatMessages.seq, kind: 'int', sqlType: 'int', max: 2_147_483_647 }],
});

/** Who acts on a session: its visitor, or an operator (or admin) by name. */
export type ChatActor = { kind: 'VISITOR'; sessionId: number } | { kind: 'OPERATOR'; agentId: number | null; name: string };

export interface ChatSettings {
  maxMessageChars: number;
  messagesPerMinutePerSession: number;
  /** FREE_INPUT_MULTI: a visitor's answer is finished after this long without a new message. */
  chatbotPauseMs?: number;
}

/**
 * Who sends, as the caller's token says, known with no read: the session's visitor, or staff
 * (an admin operates every channel; an agent's right is checked by the send itself).
 */
export type ChatSender = { kind: 'VISITOR'; sessionId: number } | { kind: 'OPERATOR'; agentId: number | null; name: string; admin: boolean };

const MAX_CLIENT_MESSAGE_ID = 100;

/** The visitor's limit: operators have none per session, and never spend the visitor's. */
const visitorLimit = (settings: ChatSettings, sessionId: number): RateLimit => ({
  key: `chat-messages:${sessionId}`,
  limit: settings.messagesPerMinutePerSession,
  windowSeconds: 60,
});

/** A message of this sender with this clientMessageId: keys belong to their author. */
function sameAuthorAndKey(sender: ChatSender, clientMessageId: string): SQL {
  const agentId = sender.kind === 'OPERATOR' ? sender.agentId : null;
  return sql`x.client_message_id = ${clientMessageId} and x.author_kind = ${sender.kind}::chat_author_kind and coalesce(x.agent_id, 0) = coalesce(${agentId}::int, 0)`;
}

/**
 * A visitor or operator writes. The message is committed before it is returned or broadcast; a
 * retry with the same clientMessageId (the sender's own) returns the stored message. Operators'
 * "/…" messages are commands, answered to the operator alone.
 */
export async function sendChatMessage(
  db: DbOrTx,
  settings: ChatSettings,
  sender: ChatSender,
  input: { sessionId: number; body: string; clientMessageId?: string | null; operatorOnly?: boolean | null },
): Promise<ChatMessageRow> {
  const body = cleanChatBody(input.body);
  if (body.trim() === '') fail('body', 'REQUIRED', 'body is required.');
  if (isLongerThan(body, settings.maxMessageChars)) fail('body', 'TOO_LONG', `body must be at most ${settings.maxMessageChars} characters.`);
  const clientMessageId = input.clientMessageId ?? null;
  if (clientMessageId !== null && (clientMessageId === '' || isLongerThan(clientMessageId, MAX_CLIENT_MESSAGE_ID))) {
    fail('clientMessageId', 'INVALID_ID', `clientMessageId must be 1 to ${MAX_CLIENT_MESSAGE_ID} characters.`);
  }
  if (input.operatorOnly && sender.kind === 'VISITOR') fail('operatorOnly', 'FORBIDDEN', 'Only operators may send operator-only messages.');
  if (sender.kind === 'VISITOR' && sender.sessionId !== input.sessionId) fail('sessionId', 'NOT_FOUND', 'No live chat session has this id.');
  const command = sender.kind === 'OPERATOR' ? parseChatCommand(body) : null;
  if (sender.kind === 'OPERATOR' && command) return sendCommand(db, sender, { sessionId: input.sessionId, body, clientMessageId }, command);
  const message = { sessionId: input.sessionId, body, clientMessageId, operatorOnly: input.operatorOnly ?? false };
  const metrics = metricsOf(db);
  // Only when figures are kept: whether this is the operator's first answer to the visitor (the
  // channel's welcome, written on assignment, is outside the transcript and does not count).
  const timeFirstAnswer = metrics !== undefined && sender.kind === 'OPERATOR' && !message.operatorOnly;
  const [sent] = await queryRows<{ message: string | null; counted: boolean; bot: string | null; first_answer_seconds?: number | string | null }>(
    db,
    sendStatement(settings, sender, message, timeFirstAnswer),
  );
  if (sent!.message !== null) {
    if (metrics) {
      metrics.chatMessages.inc({ author: sender.kind });
      if (sent!.first_answer_seconds != null) metrics.chatFirstAnswer.observe(Number(sent!.first_answer_seconds));
    }
    const stored = messageFromJson(JSON.parse(sent!.message));
    // The session's bot listens: it reads the message now that it is committed, and answers after it.
    if (sender.kind === 'VISITOR' && sent!.bot !== null && sent!.bot !== 'HANDED_OVER') await reactToVisitor(db, settings, stored.sessionId);
    return stored;
  }
  return explainUnsent(db, settings, sender, message, sent!.counted);
}

/**
 * The whole common send in one autocommitted statement: the visitor's rate limit, the seq, the
 * closed and operator checks, the insert and the notification (the row inside when it fits).
 * The session row's lock, taken by the update, lasts until this statement commits, so seq order
 * is commit order within a session and the notification goes out on commit. No row: refused
 * (or a retry), and `explainUnsent` says which.
 */
function sendStatement(
  settings: ChatSettings,
  sender: ChatSender,
  message: { sessionId: number; body: string; clientMessageId: string | null; operatorOnly: boolean },
  timeFirstAnswer = false,
): SQL {
  const visitor = sender.kind === 'VISITOR';
  const agentId = sender.kind === 'OPERATOR' ? sender.agentId : null;
  const checkedAgent = sender.kind === 'OPERATOR' && !sender.admin ? sender.agentId : null;
  const conditions: SQL[] = [sql`s.id = ${message.sessionId}`, sql`s.status <> 'CLOSED'`];
  if (visitor) conditions.push(sql`exists (select 1 from rate_hit)`);
  if (checkedAgent !== null) {
    conditions.push(sql`exists (select 1 from ${liveChatOperators} o where o.channel_id = s.channel_id and o.agent_id = ${checkedAgent})`);
    // Only the session's operator writes to the visitor; the channel's others add notes.
    if (!message.operatorOnly) conditions.push(sql`s.operator_id = ${checkedAgent}`);
  }
  if (message.clientMessageId !== null) {
    conditions.push(sql`not exists (select 1 from ${liveChatMessages} x where x.session_id = s.id and ${sameAuthorAndKey(sender, message.clientMessageId)})`);
  }
  const authorName = sender.kind === 'OPERATOR' ? sender.name : null;
  return sql`with ${visitor ? sql`${rateHitCtes(visitorLimit(settings, message.sessionId))},` : sql``} s as (
      update ${liveChatSessions} s set last_seq = s.last_seq + 1, last_activity_at = now(), visitor_wrote = s.visitor_wrote or ${visitor}${
        // A person writing to the visitor takes over from the bot, for good.
        visitor || message.operatorOnly ? sql`` : sql`, chatbot_phase = case when s.chatbot_phase is null then null else 'HANDED_OVER'::live_chat_chatbot_phase end, chatbot_due_at = null`
      }
      where ${sql.join(conditions, sql` and `)}
      returning s.id, s.last_seq, s.visitor_name, s.chatbot_phase${
        timeFirstAnswer
          ? sql`, case when not exists (select 1 from ${liveChatMessages} x where x.session_id = s.id and x.author_kind = 'OPERATOR' and not x.operator_only and x.in_transcript)
              then extract(epoch from now() - s.created_at) end as first_answer_seconds`
          : sql``
      }
    ), m as (
      insert into ${liveChatMessages} (session_id, seq, author_kind, author_name, agent_id, body, operator_only, in_transcript, client_message_id)
      select s.id, s.last_seq, ${sender.kind}::chat_author_kind, coalesce(${authorName}::text, s.visitor_name), ${agentId}::int, ${message.body}, ${message.operatorOnly}, true, ${message.clientMessageId}::text
      from s
      on conflict do nothing
      returning *
    ), sent as (
      select m.id, m.session_id, ${MESSAGE_JSON} as row from m
    ), notified as (
      select ${liveNotification(chatMessageAdded, sql`sent.id`, sql`sent.session_id`, sql`sent.row`)} from sent
    )
    select (select row::text from sent) as message, (select count(*) from notified) as notified,
      (select s.chatbot_phase::text from s) as bot,
      ${timeFirstAnswer ? sql`(select first_answer_seconds from s where exists (select 1 from sent)) as first_answer_seconds,` : sql``}
      ${visitor ? sql`exists (select 1 from rate_hit)` : sql`true`} as counted`;
}

/** Why a send stored nothing: a refusal, or a retry of the sender's own message (returned). */
async function explainUnsent(
  db: DbOrTx,
  settings: ChatSettings,
  sender: ChatSender,
  message: { sessionId: number; body: string; clientMessageId: string | null; operatorOnly: boolean },
  counted: boolean,
): Promise<ChatMessageRow> {
  if (!counted) return failRateLimitedAt(db, visitorLimit(settings, message.sessionId), null);
  const checkedAgent = sender.kind === 'OPERATOR' && !sender.admin ? sender.agentId : null;
  const [state] = await queryRows<{ status: string; operator_id: number | null; is_operator: boolean; sent: string | null }>(
    db,
    sql`select s.status, s.operator_id,
        ${checkedAgent === null ? sql`true` : sql`exists (select 1 from ${liveChatOperators} o where o.channel_id = s.channel_id and o.agent_id = ${checkedAgent})`} as is_operator,
        ${message.clientMessageId === null ? sql`null` : sql`(select ${MESSAGE_JSON}::text from ${liveChatMessages} m where m.id = (select x.id from ${liveChatMessages} x where x.session_id = s.id and ${sameAuthorAndKey(sender, message.clientMessageId)}))`} as sent
      from ${liveChatSessions} s where s.id = ${message.sessionId}`,
  );
  if (!state || !state.is_operator) fail('sessionId', 'NOT_FOUND', 'No live chat session has this id.');
  if (state.sent !== null) {
    const sent = messageFromJson(JSON.parse(state.sent));
    if (sent.body !== message.body || sent.operatorOnly !== message.operatorOnly) {
      fail('clientMessageId', 'INVALID_VALUE', 'This clientMessageId was already used for another message: use a new one for a new message.');
    }
    return sent;
  }
  if (state.status === 'CLOSED') fail('sessionId', 'SESSION_CLOSED', 'This conversation is closed: start a new one.');
  if (checkedAgent !== null && !message.operatorOnly && state.operator_id !== checkedAgent) {
    fail('sessionId', 'FORBIDDEN', "Only the session's operator writes to the visitor: send it as an operator-only note, or have the session transferred to you.");
  }
  throw new Error(`chat message to session ${message.sessionId} neither stored nor refused`);
}

/** An operator's "/…" command: the rare path, in a transaction with the session locked. */
async function sendCommand(
  db: DbOrTx,
  sender: Extract<ChatSender, { kind: 'OPERATOR' }>,
  input: { sessionId: number; body: string; clientMessageId: string | null },
  command: ChatCommand,
): Promise<ChatMessageRow> {
  return chatTransaction(db, async (tx) => {
    const session = await lockSession(tx, input.sessionId);
    if (!sender.admin && (sender.agentId === null || !(await isOperatorOf(tx, session.channelId, sender.agentId)))) {
      fail('sessionId', 'NOT_FOUND', 'No live chat session has this id.');
    }
    if (input.clientMessageId !== null) {
      const [sent] = await tx
        .select()
        .from(liveChatMessages)
        .where(
          and(
            eq(liveChatMessages.sessionId, session.id),
            eq(liveChatMessages.clientMessageId, input.clientMessageId),
            eq(liveChatMessages.authorKind, 'OPERATOR'),
            sql`coalesce(${liveChatMessages.agentId}, 0) = coalesce(${sender.agentId}::int, 0)`,
          ),
        );
      if (sent && sent.body !== input.body) fail('clientMessageId', 'INVALID_VALUE', 'This clientMessageId was already used for another message: use a new one for a new message.');
      if (sent) return sent;
    }
    if (session.status === 'CLOSED') fail('sessionId', 'SESSION_CLOSED', 'This conversation is closed: start a new one.');
    const channel = (await findChannel(tx, session.channelId))!;
    const message = await appendMessage(tx, session, {
      authorKind: 'OPERATOR',
      authorName: sender.name,
      agentId: sender.agentId,
      body: input.body,
      clientMessageId: input.clientMessageId,
      operatorOnly: true,
      inTranscript: false,
    });
    await runChatCommand(tx, channel, session, command);
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
    .where(and(isAnyOf(liveChatMessages.sessionId, sessionIds), includeOperatorOnly ? undefined : eq(liveChatMessages.operatorOnly, false)))
    .groupBy(liveChatMessages.sessionId);
  return new Map(rows.map((r) => [r.sessionId, r.count]));
}

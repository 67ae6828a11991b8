import { asc, eq, inArray, sql } from 'drizzle-orm';
import { inTransaction, type DbOrTx } from '../db/client.js';
import { ErrorCollector, fail, failRateLimited, requiredText } from '../errors.js';
import { cleanTypedLine, cleanTypedText, cutByCodePoints, isLongerThan } from '../text/clean.js';
import { isEmailAddress } from '../text/email-address.js';
import { existingChatbotScriptIds } from '../chatbot/service.js';
import { createTicket, type MessageOrigin } from '../tickets/service.js';
import { countFormSubmission, type FormSettings } from '../webform/service.js';
import { findChannelByKey, isChannelAvailable, lockChannel, type LiveChatChannelRow } from './channels.js';
import { liveChatRules } from './tables.js';
import { onlineOperators } from './assignment.js';
import { hasRoom } from './rules.js';
import {
  chatbotConditionHolds,
  chatbotKeepsAvailable,
  chooseRule,
  countryCode,
  MAX_AUTO_POPUP_SECONDS,
  MAX_RULES_PER_CHANNEL,
  patternProblem,
  resolveRuleAction,
  resolveRuleChatbot,
  type ChatbotCondition,
  type LiveChatOfflineBehavior,
  type LiveChatRuleAction,
} from './widget-rules.js';

export type LiveChatRuleRow = typeof liveChatRules.$inferSelect;

/**
 * Where the browser side lives under PUBLIC_URL (agreed with the widget's code):
 * - the loader the embed code points at: /livechat/loader.js, told its channel by `data-channel`;
 * - the direct-link page, the chat alone in a full window: /chat/<channel key>.
 */
export const LOADER_PATH = '/livechat/loader.js';
export const DIRECT_LINK_PATH = '/chat/';

/** The one line a customer pastes into its pages' `<head>`. */
export function embedCodeOf(publicUrl: string, channel: Pick<LiveChatChannelRow, 'key'>): string {
  return `<script src="${publicUrl}${LOADER_PATH}" data-channel="${channel.key}" async></script>`;
}

export function directLinkUrlOf(publicUrl: string, channel: Pick<LiveChatChannelRow, 'key'>): string {
  return `${publicUrl}${DIRECT_LINK_PATH}${channel.key}`;
}

/**
 * The Content-Security-Policy of the direct-link page: only the channel's allowed origins may
 * frame it (any page when the list is empty, like the widget itself).
 */
export function directLinkFrameAncestors(channel: Pick<LiveChatChannelRow, 'allowedOrigins'>): string {
  return `frame-ancestors ${channel.allowedOrigins.length === 0 ? '*' : ["'self'", ...channel.allowedOrigins].join(' ')}`;
}

// ---------------------------------------------------------------- rules

/** The rules of these channels, by channel, each list by sequence then age: one query. */
export async function rulesOfChannels(db: DbOrTx, channelIds: number[]): Promise<Map<number, LiveChatRuleRow[]>> {
  const byChannel = new Map<number, LiveChatRuleRow[]>(channelIds.map((id) => [id, []]));
  if (channelIds.length === 0) return byChannel;
  const rows = await db.select().from(liveChatRules).where(inArray(liveChatRules.channelId, channelIds)).orderBy(asc(liveChatRules.sequence), asc(liveChatRules.id));
  for (const row of rows) byChannel.get(row.channelId)?.push(row);
  return byChannel;
}

export async function findRule(db: DbOrTx, id: number): Promise<LiveChatRuleRow | undefined> {
  const [rule] = await db.select().from(liveChatRules).where(eq(liveChatRules.id, id));
  return rule;
}

export interface RuleInput {
  urlPattern?: string | null;
  action?: LiveChatRuleAction | null;
  autoPopupSeconds?: number | null;
  countries?: readonly string[] | null;
  sequence?: number | null;
  /** The chatbot script to attach; null detaches it; left out (undefined): unchanged. */
  chatbotScriptId?: number | null;
  chatbotCondition?: ChatbotCondition | null;
}

/** The checked columns of what the input gives; every problem named by its input field. */
function ruleValues(input: RuleInput): Partial<LiveChatRuleRow> {
  const errors = new ErrorCollector();
  const values: Partial<LiveChatRuleRow> = {};
  if (input.urlPattern != null) {
    const pattern = input.urlPattern.trim();
    const problem = patternProblem(pattern);
    if (problem) errors.add('urlPattern', 'INVALID_PATTERN', problem);
    else values.urlPattern = pattern;
  }
  if (input.action != null) values.action = input.action;
  if (input.autoPopupSeconds != null) {
    const seconds = input.autoPopupSeconds;
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_AUTO_POPUP_SECONDS) errors.add('autoPopupSeconds', 'INVALID_NUMBER', `autoPopupSeconds must be 0 to ${MAX_AUTO_POPUP_SECONDS}.`);
    else values.autoPopupSeconds = seconds;
  }
  if (input.countries != null) {
    const codes = input.countries.map(countryCode);
    const bad = input.countries.find((_, i) => codes[i] === null);
    if (input.countries.length > 250) errors.add('countries', 'TOO_MANY', 'countries may list at most 250 codes.');
    else if (bad !== undefined) errors.add('countries', 'INVALID_COUNTRY', `countries must be ISO 3166-1 alpha-2 codes such as "BE" or "FR": "${bad.slice(0, 20)}" is not.`);
    else values.countries = [...new Set(codes as string[])];
  }
  if (input.sequence != null) {
    if (!Number.isInteger(input.sequence) || input.sequence < 0 || input.sequence > 1_000_000) errors.add('sequence', 'INVALID_NUMBER', 'sequence must be 0 to 1000000.');
    else values.sequence = input.sequence;
  }
  if (input.chatbotScriptId !== undefined) values.chatbotScriptId = input.chatbotScriptId;
  if (input.chatbotCondition != null) values.chatbotCondition = input.chatbotCondition;
  errors.throwIfAny();
  return values;
}

/** A rule may attach only a script that exists (NOT_FOUND on chatbotScriptId). */
async function checkChatbotScript(db: DbOrTx, values: Partial<LiveChatRuleRow>): Promise<void> {
  if (values.chatbotScriptId == null) return;
  if (!(await existingChatbotScriptIds(db, [values.chatbotScriptId])).has(values.chatbotScriptId)) fail('chatbotScriptId', 'NOT_FOUND', 'No chatbot script has this id.');
}

export async function createRule(db: DbOrTx, channelId: number, input: RuleInput & { action: LiveChatRuleAction }): Promise<LiveChatRuleRow> {
  const values = ruleValues(input);
  await checkChatbotScript(db, values);
  return lockedChannel(db, channelId, async (tx, channel) => {
    if ((await tx.$count(liveChatRules, eq(liveChatRules.channelId, channel.id))) >= MAX_RULES_PER_CHANNEL) {
      fail('channelId', 'TOO_MANY', `A channel has at most ${MAX_RULES_PER_CHANNEL} rules.`);
    }
    const [rule] = await tx
      .insert(liveChatRules)
      .values({ channelId: channel.id, action: input.action, ...values })
      .returning();
    return rule!;
  });
}

export async function updateRule(db: DbOrTx, ruleId: number, input: RuleInput): Promise<LiveChatRuleRow> {
  const values = ruleValues(input);
  await checkChatbotScript(db, values);
  const found = await findRule(db, ruleId);
  if (!found) fail('ruleId', 'NOT_FOUND', 'No live chat rule has this id.');
  if (Object.keys(values).length === 0) return found;
  const [rule] = await db.update(liveChatRules).set(values).where(eq(liveChatRules.id, ruleId)).returning();
  if (!rule) fail('ruleId', 'NOT_FOUND', 'No live chat rule has this id.');
  return rule;
}

export async function deleteRule(db: DbOrTx, ruleId: number): Promise<LiveChatRuleRow> {
  const [rule] = await db.delete(liveChatRules).where(eq(liveChatRules.id, ruleId)).returning();
  if (!rule) fail('ruleId', 'NOT_FOUND', 'No live chat rule has this id.');
  return rule;
}

/** Rule writes of one channel one at a time, so its rule count holds. */
async function lockedChannel<T>(db: DbOrTx, channelId: number, work: (tx: DbOrTx, channel: LiveChatChannelRow) => Promise<T>): Promise<T> {
  return inTransaction(db, async (tx) => work(tx, await lockChannel(tx, channelId)));
}

// ---------------------------------------------------------------- what a visitor's widget reads

export interface WidgetView {
  channel: LiveChatChannelRow;
  action: LiveChatRuleAction;
  autoPopupSeconds: number;
  available: boolean;
  offlineBehavior: LiveChatOfflineBehavior;
  /** A chat started now would open with the bot (the rule's script, its condition holding, as startLiveChat decides). */
  chatbot: boolean;
}

/** Channels whose rules attach a script, lowest id first (where testChatbotScript runs it when no channel is named). */
export async function channelIdsAttaching(db: DbOrTx, scriptId: number): Promise<number[]> {
  const rows = await db.selectDistinct({ channelId: liveChatRules.channelId }).from(liveChatRules).where(eq(liveChatRules.chatbotScriptId, scriptId)).orderBy(asc(liveChatRules.channelId));
  return rows.map((r) => r.channelId);
}

/** A visit's page URL as rules read it: one over 2,000 characters counts as no URL (matched by empty patterns only). */
function visitPageUrl(pageUrl: string | null): string | null {
  return pageUrl && !isLongerThan(pageUrl, 2000) ? pageUrl : null;
}

/** Whether the bot of the rule of a visit keeps a channel's widget available whatever the operators do (liveChatAvailability). */
export async function chatbotKeepsVisitAvailable(db: DbOrTx, channel: LiveChatChannelRow, visit: { pageUrl: string | null; country: string | null }): Promise<boolean> {
  if (!channel.enabled) return false;
  const pageUrl = visitPageUrl(visit.pageUrl);
  return chatbotKeepsAvailable(chooseRule((await rulesOfChannels(db, [channel.id])).get(channel.id) ?? [], { pageUrl, country: visit.country }));
}

/**
 * What the widget shows on a page for a visitor: the channel's texts and colours, the rule of
 * the visit, availability (an operator online, or a bot whose condition holds). Null when no channel has the key; a switched-off channel is shown
 * unavailable (its offline behaviour still says what to offer).
 */
export async function widgetFor(db: DbOrTx, channelKey: string, visit: { pageUrl: string | null; country: string | null }): Promise<WidgetView | null> {
  const channel = await findChannelByKey(db, channelKey);
  if (!channel) return null;
  const [rules, available] = await Promise.all([rulesOfChannels(db, [channel.id]), isChannelAvailable(db, channel)]);
  const pageUrl = visitPageUrl(visit.pageUrl);
  const { action, autoPopupSeconds } = resolveRuleAction(rules.get(channel.id) ?? [], { pageUrl, country: visit.country });
  // A bot whose condition holds answers too: the widget is available though no operator is.
  const botAnswers = channel.enabled && chatbotKeepsAvailable(chooseRule(rules.get(channel.id) ?? [], { pageUrl, country: visit.country }));
  // Whether the bot would open a chat started now: as startLiveChat decides, "operator" meaning online with room.
  const bot = resolveRuleChatbot(rules.get(channel.id) ?? [], { pageUrl, country: visit.country });
  const chatbot =
    channel.enabled &&
    bot !== null &&
    (bot.condition === 'ALWAYS' || chatbotConditionHolds(bot.condition, (await onlineOperators(db, channel.id)).some((o) => hasRoom(o.openSessions, channel.maxSessionsPerOperator))));
  return { channel, action, autoPopupSeconds, available: available || botAnswers, offlineBehavior: channel.offlineBehavior, chatbot };
}

/**
 * The chatbot of a visit to a channel: the script its rule (as liveChatWidget resolves it, from
 * the page URL and the visitor's country) attaches, with the rule's condition; null when none.
 */
export async function chatbotOfVisit(db: DbOrTx, channelId: number, visit: { pageUrl: string | null; country: string | null }): Promise<{ scriptId: number; condition: ChatbotCondition } | null> {
  const rules = await rulesOfChannels(db, [channelId]);
  const pageUrl = visitPageUrl(visit.pageUrl);
  return resolveRuleChatbot(rules.get(channelId) ?? [], { pageUrl, country: visit.country });
}

/** The scripts the rules of these channels attach, by channel (each script once, in rule order): one query. */
export async function chatbotScriptIdsOfChannels(db: DbOrTx, channelIds: number[]): Promise<Map<number, number[]>> {
  const rules = await rulesOfChannels(db, channelIds);
  return new Map(channelIds.map((id) => [id, [...new Set((rules.get(id) ?? []).flatMap((r) => (r.chatbotScriptId === null ? [] : [r.chatbotScriptId])))]]));
}

/** How many rules attach each of these scripts: one query. */
export async function ruleCountsOfScripts(db: DbOrTx, scriptIds: number[]): Promise<Map<number, number>> {
  const counts = new Map<number, number>(scriptIds.map((id) => [id, 0]));
  if (scriptIds.length === 0) return counts;
  const rows = await db
    .select({ scriptId: liveChatRules.chatbotScriptId, count: sql<number>`count(*)`.mapWith(Number) })
    .from(liveChatRules)
    .where(inArray(liveChatRules.chatbotScriptId, [...new Set(scriptIds)]))
    .groupBy(liveChatRules.chatbotScriptId);
  for (const row of rows) if (row.scriptId !== null) counts.set(row.scriptId, row.count);
  return counts;
}

// ---------------------------------------------------------------- leave a message

export interface LeaveMessageInput {
  channelKey: string;
  name: string;
  email: string;
  message: string;
  pageUrl?: string | null;
  /** The hidden trap field: people never see it, bots fill it in. */
  websiteUrl?: string | null;
  origin: MessageOrigin;
}

const MAX_MESSAGE = 10_000;

/**
 * A visitor who found nobody to chat with leaves a message: a ticket in the channel's team
 * through the one creation path (channel LIVE_CHAT, no source record, the page in the
 * description), behind the website form's abuse protection (trap field, shared per-address limit).
 */
export async function leaveLiveChatMessage(db: DbOrTx, settings: FormSettings, input: LeaveMessageInput): Promise<{ ticketNumber: number }> {
  const channel = await findChannelByKey(db, input.channelKey);
  if (!channel) fail('channelKey', 'NOT_FOUND', 'No live chat channel has this key.');
  if ((input.websiteUrl ?? '').trim() !== '') fail(null, 'REJECTED', 'The message was refused.');
  const errors = new ErrorCollector();
  // Typed by the visitor, as a chat's name and messages are: no controls, no bidirectional overrides.
  const name = requiredText(errors, 'name', cleanTypedLine(input.name), 120);
  const email = input.email.trim();
  if (!isEmailAddress(email)) errors.add('email', 'INVALID_EMAIL', 'email must be an email address such as jane@example.com.');
  const message = requiredText(errors, 'message', cleanTypedText(input.message).trim(), MAX_MESSAGE);
  const pageUrl = input.pageUrl?.trim() || null;
  if (pageUrl && (isLongerThan(pageUrl, 2000) || !/^https?:\/\//i.test(pageUrl))) errors.add('pageUrl', 'INVALID_URL', 'pageUrl must be an http(s) address of at most 2000 characters.');
  errors.throwIfAny();
  const retryAfter = await countFormSubmission(db, settings, input.origin.clientAddress);
  if (retryAfter !== null) failRateLimited(null, retryAfter);
  const firstLine = message.split('\n')[0]!.trim();
  const ticket = await createTicket(db, {
    teamId: channel.teamId,
    channel: 'LIVE_CHAT',
    title: cutByCodePoints(firstLine, 120),
    description: pageUrl ? `${message}\n\nLeft from the chat on ${pageUrl}` : message,
    customer: { email, name },
    origin: input.origin,
  });
  return { ticketNumber: ticket.number };
}

/** Channels named by these keys, for CORS and subscriptions: key → channel. */
export async function channelsByKeys(db: DbOrTx, keys: string[]): Promise<Map<string, LiveChatChannelRow>> {
  const found = await Promise.all([...new Set(keys)].map((key) => findChannelByKey(db, key)));
  return new Map(found.flatMap((channel) => (channel ? [[channel.key, channel] as const] : [])));
}

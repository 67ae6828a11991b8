import { encodeGlobalID } from '@pothos/plugin-relay';
import { UserInputError } from '../errors.js';
import type { Context } from '../graphql/context.js';
import { builder } from '../graphql/builder.js';
import { loadInBatch } from '../graphql/batch.js';
import { payloadType, requireIdOf, UserError, withUserErrors } from '../graphql/user-errors.js';
import { ChatbotScript, chatbotScriptById } from '../chatbot/graphql.js';
import { findChatbotScripts } from '../chatbot/service.js';
import { canOperate, forbidden, requireOperator } from './graphql-access.js';
import { LiveChatChannel } from './graphql-types.js';
import { findChannel } from './channels.js';
import {
  createRule,
  deleteRule,
  directLinkUrlOf,
  embedCodeOf,
  chatbotScriptIdsOfChannels,
  findRule,
  leaveLiveChatMessage,
  ruleCountsOfScripts,
  rulesOfChannels,
  updateRule,
  widgetFor,
  type LiveChatRuleRow,
  type WidgetView,
} from './widget.js';
import { CHATBOT_CONDITIONS, RULE_ACTIONS } from './widget-rules.js';

/** The chat widget's API: channel rules, embed code and direct link, what a visitor's widget reads, leaving a message. */

export const LiveChatOfflineBehavior = builder.enumType('LiveChatOfflineBehavior', {
  description: 'What the widget offers when no operator is available.',
  values: {
    LEAVE_MESSAGE: { description: 'A form whose message becomes a ticket of the team (leaveLiveChatMessage).' },
    HIDE: { description: 'Nothing: the button hides until an operator is available.' },
  } as const,
});

const RULE_ACTION_DESCRIPTIONS: Record<(typeof RULE_ACTIONS)[number], string> = {
  DISPLAY_BUTTON: 'The chat bubble, its button text as its accessible name.',
  DISPLAY_BUTTON_AND_TEXT: 'The chat bubble with the button text shown beside it.',
  AUTO_POPUP: 'The bubble, and the chat window opens by itself after autoPopupSeconds.',
  HIDE_BUTTON: 'No chat on the page.',
};
export const LiveChatRuleAction = builder.enumType('LiveChatRuleAction', {
  description: 'What the widget does on a page a rule applies to.',
  values: Object.fromEntries(RULE_ACTIONS.map((action) => [action, { description: RULE_ACTION_DESCRIPTIONS[action] }])) as Record<(typeof RULE_ACTIONS)[number], { description: string }>,
});

const CHATBOT_CONDITION_DESCRIPTIONS: Record<(typeof CHATBOT_CONDITIONS)[number], string> = {
  ALWAYS: 'The bot runs in every session the rule applies to.',
  ONLY_IF_NO_OPERATOR: 'The bot runs only when no operator is available.',
  ONLY_IF_OPERATOR: 'The bot runs only when an operator is available (the bot hands over when the script says so).',
};
export const ChatbotCondition = builder.enumType('ChatbotCondition', {
  description: "When a rule's chatbot script runs.",
  values: Object.fromEntries(CHATBOT_CONDITIONS.map((c) => [c, { description: CHATBOT_CONDITION_DESCRIPTIONS[c] }])) as Record<(typeof CHATBOT_CONDITIONS)[number], { description: string }>,
});

export const LiveChatRule = builder.objectRef<LiveChatRuleRow>('LiveChatRule');

builder.node(LiveChatRule, {
  description:
    "A rule of a channel's widget: on pages whose URL the pattern matches, for visitors of the listed countries (all when none), do the action. " +
    "The rule of a visit: among matching rules, those listing the visitor's country first, then those listing none, each by ascending sequence; none matching: DISPLAY_BUTTON.",
  // Wherever a rule is reached (a channel, a payload, a node), only the channel's operators and admins read it.
  authScopes: (r) => ({ operatorOf: r.channelId }),
  id: { resolve: (r) => r.id },
  loadOne: async (id, ctx) => {
    const rule = await findRule(ctx.db, Number(id));
    if (!rule) return null;
    if (!(await canOperate(ctx, rule.channelId))) throw forbidden("LiveChatRule is for its channel's operators and admins");
    return rule;
  },
  fields: (t) => ({
    urlPattern: t.exposeString('urlPattern', { description: 'A regular expression (RE2 syntax) searched anywhere in the page URL; empty matches every page.' }),
    action: t.field({ type: LiveChatRuleAction, description: 'What the widget does.', resolve: (r) => r.action }),
    autoPopupSeconds: t.exposeInt('autoPopupSeconds', { description: 'AUTO_POPUP: seconds on the page before the window opens by itself.' }),
    countries: t.exposeStringList('countries', { description: 'ISO 3166-1 alpha-2 codes of the visitors it applies to; empty: every visitor.' }),
    sequence: t.exposeInt('sequence', { description: 'Order among rules: the lowest applies first.' }),
    chatbotScript: t.field({
      type: ChatbotScript,
      nullable: true,
      description: 'The chatbot script a chat started under this rule runs when chatbotCondition holds; null: none.',
      resolve: (r, _args, ctx) => (r.chatbotScriptId === null ? null : chatbotScriptById(ctx, r.chatbotScriptId)),
    }),
    chatbotCondition: t.field({ type: ChatbotCondition, description: 'When the chatbot script runs (ALWAYS when none is attached).', resolve: (r) => r.chatbotCondition }),
    channel: t.field({ type: LiveChatChannel, description: 'The channel.', resolve: async (r, _args, ctx) => (await findChannel(ctx.db, r.channelId))! }),
  }),
});

/** A field of the channel for its operators and admins only, like `operators` and `sessions`. */
const operatorField = <T>(name: string, resolve: (channel: any, ctx: any) => T | Promise<T>) => async (channel: any, _args: unknown, ctx: any) => {
  await requireOperator(ctx, channel.id, `LiveChatChannel.${name}`);
  return resolve(channel, ctx);
};

builder.objectFields(LiveChatChannel, (t) => ({
  key: t.string({
    description: 'Public key of the channel in the embed code and the direct link (operators and admins).',
    resolve: operatorField('key', (c) => c.key),
  }),
  embedCode: t.string({
    description: "The one <script> tag to paste into the <head> of the customer's pages (operators and admins).",
    resolve: operatorField('embedCode', (c, ctx) => embedCodeOf(ctx.publicUrl, c)),
  }),
  directLinkUrl: t.string({
    description: 'A page of Intake that is the chat alone, full window, for sharing (operators and admins).',
    resolve: operatorField('directLinkUrl', (c, ctx) => directLinkUrlOf(ctx.publicUrl, c)),
  }),
  allowedOrigins: t.stringList({
    description: 'Origins (scheme://host[:port]) whose pages may use the widget and frame the direct link; empty: any (operators and admins).',
    resolve: operatorField('allowedOrigins', (c) => c.allowedOrigins),
  }),
  offlineBehavior: t.field({
    type: LiveChatOfflineBehavior,
    description: 'What the widget offers when nobody is available (operators and admins).',
    resolve: operatorField('offlineBehavior', (c) => c.offlineBehavior),
  }),
  chatbotScripts: t.field({
    type: [ChatbotScript],
    description: "The chatbot scripts the channel's rules attach, each once, in rule order (a short list; operators and admins).",
    resolve: operatorField('chatbotScripts', (c, ctx) =>
      loadInBatch(ctx, 'LiveChatChannel.chatbotScripts', c.id as number, async (ids: number[]) => {
        const byChannel = await chatbotScriptIdsOfChannels(ctx.db, ids);
        const scripts = new Map((await findChatbotScripts(ctx.db, [...byChannel.values()].flat())).map((s) => [s.id, s]));
        return ids.map((id) => (byChannel.get(id) ?? []).flatMap((scriptId) => (scripts.has(scriptId) ? [scripts.get(scriptId)!] : [])));
      }),
    ),
  }),
  rules: t.field({
    type: [LiveChatRule],
    description: 'The rules, by sequence (a short list, at most 100; operators and admins).',
    resolve: operatorField('rules', (c, ctx) =>
      loadInBatch(ctx, 'LiveChatChannel.rules', c.id as number, async (ids: number[]) => {
        const rules = await rulesOfChannels(ctx.db, ids);
        return ids.map((id) => rules.get(id) ?? []);
      }),
    ),
  }),
}));

const LiveChatWidget = builder.objectRef<WidgetView>('LiveChatWidget').implement({
  description: "What a channel's widget shows on a page, for the visitor asking: texts, colours, the rule's action, availability.",
  fields: (t) => ({
    channelId: t.id({ description: 'Global ID of the channel, for startLiveChat.', resolve: (w) => encodeGlobalID('LiveChatChannel', String(w.channel.id)) }),
    name: t.string({ description: 'Name of the channel.', resolve: (w) => w.channel.name }),
    buttonText: t.string({ description: 'Text of the chat button.', resolve: (w) => w.channel.buttonText }),
    welcomeMessage: t.string({ description: 'Shown first in the chat window.', resolve: (w) => w.channel.welcomeMessage }),
    inputPlaceholder: t.string({ description: 'Placeholder of the message input.', resolve: (w) => w.channel.inputPlaceholder }),
    headerBackgroundColor: t.string({ description: 'Colour of the window header, #RRGGBB.', resolve: (w) => w.channel.headerBackgroundColor }),
    titleColor: t.string({ description: 'Colour of the header title, #RRGGBB.', resolve: (w) => w.channel.titleColor }),
    buttonBackgroundColor: t.string({ description: 'Colour of the chat button, #RRGGBB.', resolve: (w) => w.channel.buttonBackgroundColor }),
    buttonTextColor: t.string({ description: 'Colour of the button text, #RRGGBB.', resolve: (w) => w.channel.buttonTextColor }),
    action: t.field({ type: LiveChatRuleAction, description: 'What to do on this page for this visitor (the applicable rule, else DISPLAY_BUTTON).', resolve: (w) => w.action }),
    autoPopupSeconds: t.exposeInt('autoPopupSeconds', { description: 'AUTO_POPUP: seconds before the window opens by itself; 0 otherwise.' }),
    available: t.exposeBoolean('available', { description: 'Whether an operator is accepting and connected (LiveChatChannel.available): a chat will reach someone, perhaps after a wait.' }),
    offlineBehavior: t.field({ type: LiveChatOfflineBehavior, description: 'What to offer while not available.', resolve: (w) => w.offlineBehavior }),
    chatbot: t.exposeBoolean('chatbot', {
      description: "Whether a chat started now on this page opens with a chatbot (the rule's script, its condition holding): the widget starts it as the visitor opens the window, so the bot greets first.",
    }),
  }),
});

builder.queryFields((t) => ({
  liveChatWidget: t.field({
    type: LiveChatWidget,
    nullable: true,
    skipTypeScopes: true,
    description: "What a channel's widget shows on a page (public): null when no channel has the key.",
    args: {
      channelKey: t.arg.string({ required: true, description: 'The channel key of the embed code or direct link.' }),
      pageUrl: t.arg.string({ description: 'The page the widget is on: rules match it.' }),
    },
    resolve: (_root, args, ctx) => widgetFor(ctx.db, args.channelKey, { pageUrl: args.pageUrl ?? null, country: ctx.visitorCountry() }),
  }),
}));

// ---------------------------------------------------------------- mutations

const RULE_FIELD_DESCRIPTIONS = {
  urlPattern: 'A regular expression (RE2 syntax, at most 500 characters) searched anywhere in the page URL; empty matches every page.',
  action: 'What the widget does.',
  autoPopupSeconds: 'AUTO_POPUP: seconds before the window opens by itself, 0 to 3600.',
  countries: 'ISO 3166-1 alpha-2 codes; empty: every visitor.',
  sequence: 'Order among rules, 0 to 1000000: the lowest applies first (10 when left out on creation).',
  chatbotScriptId: 'A chatbot script to run in chats started under the rule; null detaches it.',
  chatbotCondition: 'When the chatbot script runs (ALWAYS when left out on creation).',
};

const CreateLiveChatRuleInput = builder.inputType('CreateLiveChatRuleInput', {
  description: 'A new rule of a channel.',
  fields: (t) => ({
    channelId: t.id({ required: true, description: 'The channel.' }),
    urlPattern: t.string({ description: RULE_FIELD_DESCRIPTIONS.urlPattern }),
    action: t.field({ type: LiveChatRuleAction, required: true, description: RULE_FIELD_DESCRIPTIONS.action }),
    autoPopupSeconds: t.int({ description: RULE_FIELD_DESCRIPTIONS.autoPopupSeconds }),
    countries: t.stringList({ description: RULE_FIELD_DESCRIPTIONS.countries }),
    sequence: t.int({ description: RULE_FIELD_DESCRIPTIONS.sequence }),
    chatbotScriptId: t.id({ description: RULE_FIELD_DESCRIPTIONS.chatbotScriptId }),
    chatbotCondition: t.field({ type: ChatbotCondition, description: RULE_FIELD_DESCRIPTIONS.chatbotCondition }),
  }),
});
const UpdateLiveChatRuleInput = builder.inputType('UpdateLiveChatRuleInput', {
  description: 'Changes to a rule; fields left out stay as they are.',
  fields: (t) => ({
    ruleId: t.id({ required: true, description: 'The rule.' }),
    urlPattern: t.string({ description: RULE_FIELD_DESCRIPTIONS.urlPattern }),
    action: t.field({ type: LiveChatRuleAction, description: RULE_FIELD_DESCRIPTIONS.action }),
    autoPopupSeconds: t.int({ description: RULE_FIELD_DESCRIPTIONS.autoPopupSeconds }),
    countries: t.stringList({ description: RULE_FIELD_DESCRIPTIONS.countries }),
    sequence: t.int({ description: RULE_FIELD_DESCRIPTIONS.sequence }),
    chatbotScriptId: t.id({ description: RULE_FIELD_DESCRIPTIONS.chatbotScriptId }),
    chatbotCondition: t.field({ type: ChatbotCondition, description: RULE_FIELD_DESCRIPTIONS.chatbotCondition }),
  }),
});
const DeleteLiveChatRuleInput = builder.inputType('DeleteLiveChatRuleInput', {
  description: 'The rule to delete.',
  fields: (t) => ({ ruleId: t.id({ required: true, description: 'The rule.' }) }),
});
const RulePayload = (name: string, description: string) => payloadType<LiveChatRuleRow, 'rule'>(name, description, 'rule', LiveChatRule, 'The rule, when the mutation succeeded.');

const DeleteLiveChatRulePayload = builder.objectRef<{ deletedId?: string; userErrors: (typeof UserError.$inferType)[] }>('DeleteLiveChatRulePayload').implement({
  description: 'Result of deleteLiveChatRule.',
  fields: (t) => ({
    deletedId: t.id({ nullable: true, description: 'Global ID of the deleted rule.', resolve: (p) => p.deletedId ?? null }),
    userErrors: t.field({ type: [UserError], description: 'Why nothing was deleted; empty on success.', resolve: (p) => p.userErrors }),
  }),
});

const LeaveLiveChatMessageInput = builder.inputType('LeaveLiveChatMessageInput', {
  description: 'A visitor who found nobody to chat with leaves a message.',
  fields: (t) => ({
    channelKey: t.string({ required: true, description: 'The channel key of the widget.' }),
    name: t.string({ required: true, description: 'Name, at most 120 characters.' }),
    email: t.string({ required: true, description: 'Email for the answer.' }),
    message: t.string({ required: true, description: 'The message, at most 10000 characters.' }),
    pageUrl: t.string({ description: 'The page the visitor is on; it goes into the ticket.' }),
    websiteUrl: t.string({ description: 'Leave empty: a hidden trap field that people never see and bots fill in (a value is REJECTED).' }),
  }),
});
const LeaveLiveChatMessagePayload = builder.objectRef<{ ticketNumber?: number; userErrors: (typeof UserError.$inferType)[] }>('LeaveLiveChatMessagePayload').implement({
  description: 'Result of leaveLiveChatMessage.',
  fields: (t) => ({
    ticketNumber: t.int({ nullable: true, description: 'Number of the ticket made, to show the visitor.', resolve: (p) => p.ticketNumber ?? null }),
    userErrors: t.field({ type: [UserError], description: 'Why no ticket was made (REJECTED, RATE_LIMITED, INVALID_EMAIL …).', resolve: (p) => p.userErrors }),
  }),
});

/** The rule's channel must be one the caller operates; NOT_FOUND otherwise, so rules of others stay unseen. */
async function operatedRule(ctx: Context, globalId: string | number): Promise<LiveChatRuleRow> {
  const id = requireIdOf(String(globalId), 'LiveChatRule', 'ruleId');
  const rule = await findRule(ctx.db, id);
  if (!rule || !(await canOperate(ctx, rule.channelId))) {
    throw new UserInputError([{ field: ['ruleId'], code: 'NOT_FOUND', message: 'No live chat rule of a channel you operate has this id.' }]);
  }
  return rule;
}

/** A rule input with its chatbot script's ID decoded: null detaches, left out keeps. */
function ruleInputOf<I extends { chatbotScriptId?: string | number | null }>(input: I): Omit<I, 'chatbotScriptId'> & { chatbotScriptId?: number | null } {
  const { chatbotScriptId, ...rest } = input;
  if (chatbotScriptId === undefined) return rest;
  return { ...rest, chatbotScriptId: chatbotScriptId === null ? null : requireIdOf(String(chatbotScriptId), 'ChatbotScript', 'chatbotScriptId') };
}

builder.objectFields(ChatbotScript, (t) => ({
  usedByRules: t.int({
    description: 'How many live chat rules attach the script (across channels); a script in use cannot be deleted.',
    resolve: (s, _args, ctx) =>
      loadInBatch(ctx, 'ChatbotScript.usedByRules', s.id, async (ids: number[]) => {
        const counts = await ruleCountsOfScripts(ctx.db, ids);
        return ids.map((id) => counts.get(id) ?? 0);
      }),
  }),
}));

builder.mutationFields((t) => ({
  createLiveChatRule: t.field({
    type: RulePayload('CreateLiveChatRulePayload', 'Result of createLiveChatRule.'),
    description: "Adds a rule to a channel's widget (its operators and admins).",
    args: { input: t.arg({ type: CreateLiveChatRuleInput, required: true, description: 'Channel and rule.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const channelId = requireIdOf(String(input.channelId), 'LiveChatChannel', 'channelId');
        if (!(await canOperate(ctx, channelId))) {
                throw new UserInputError([{ field: ['channelId'], code: 'NOT_FOUND', message: 'No live chat channel you operate has this id.' }]);
        }
        return { rule: await createRule(ctx.db, channelId, ruleInputOf(input)) };
      }),
  }),
  updateLiveChatRule: t.field({
    type: RulePayload('UpdateLiveChatRulePayload', 'Result of updateLiveChatRule.'),
    description: "Changes a rule of a channel's widget (its operators and admins).",
    args: { input: t.arg({ type: UpdateLiveChatRuleInput, required: true, description: 'Rule and changes.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ rule: await updateRule(ctx.db, (await operatedRule(ctx, input.ruleId)).id, ruleInputOf(input)) })),
  }),
  deleteLiveChatRule: t.field({
    type: DeleteLiveChatRulePayload,
    description: "Deletes a rule of a channel's widget (its operators and admins).",
    args: { input: t.arg({ type: DeleteLiveChatRuleInput, required: true, description: 'The rule.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const rule = await deleteRule(ctx.db, (await operatedRule(ctx, input.ruleId)).id);
        return { deletedId: encodeGlobalID('LiveChatRule', String(rule.id)) };
      }),
  }),
  leaveLiveChatMessage: t.field({
    type: LeaveLiveChatMessagePayload,
    skipTypeScopes: true,
    description: "A visitor leaves a message when nobody can chat (public): it becomes a ticket of the channel's team.",
    args: { input: t.arg({ type: LeaveLiveChatMessageInput, required: true, description: 'Channel, visitor and message.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(() => leaveLiveChatMessage(ctx.db, ctx.config, { ...input, origin: ctx.client })),
  }),
}));

import { encodeGlobalID } from '@pothos/plugin-relay';
import { UserInputError, type UserErrorShape } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { loadInBatch } from '../graphql/batch.js';
import type { Context } from '../graphql/context.js';
import { connectionTypeOptions, idOf, payloadType, requireIdOf, UserError, withCursorErrors, withUserErrors } from '../graphql/user-errors.js';
import { findTeams } from '../teams/service.js';
import { Team } from '../teams/graphql.js';
import type { ChatbotStepInput } from './definition.js';
import { CHATBOT_STEP_TYPES } from './engine.js';
import {
  chatbotScriptCursor,
  chatbotScriptsPage,
  createChatbotScript,
  deleteChatbotScript,
  duplicateChatbotScript,
  findChatbotScripts,
  stepsOfScripts,
  updateChatbotScript,
  type ChatbotAnswerRow,
  type ChatbotScriptRow,
  type ChatbotStepWithAnswers,
} from './service.js';

/** Chatbot scripts: the script, its steps and answers, the admins' list and the four mutations. */

const STEP_TYPE_DESCRIPTIONS: Record<(typeof CHATBOT_STEP_TYPES)[number], string> = {
  TEXT: 'The bot says the message and goes on.',
  QUESTION_SELECTION: 'The bot asks the message and offers the answers as buttons; an answer with a redirect link ends the script by sending the visitor there.',
  QUESTION_EMAIL: 'The bot asks for an email address; an invalid one is explained and asked again.',
  QUESTION_PHONE: 'The bot asks for a phone number; an invalid one is explained and asked again.',
  FREE_INPUT_SINGLE: 'The bot asks and takes the next message as the answer.',
  FREE_INPUT_MULTI: 'The bot asks and takes messages until the visitor has finished.',
  FORWARD_OPERATOR: 'Hand over to an available operator; when none is online the script goes on.',
  CREATE_TICKET: "File a ticket from the conversation in the step's team (the channel's team when none).",
};

export const ChatbotStepType = builder.enumType('ChatbotStepType', {
  description: 'What a chatbot step does.',
  values: Object.fromEntries(CHATBOT_STEP_TYPES.map((type) => [type, { description: STEP_TYPE_DESCRIPTIONS[type] }])) as Record<(typeof CHATBOT_STEP_TYPES)[number], { description: string }>,
});

export const ChatbotAnswer = builder.objectRef<ChatbotAnswerRow>('ChatbotAnswer').implement({
  description: "An answer a QUESTION_SELECTION step offers as a button. Part of its script (not a Node); its id stays while its key does.",
  fields: (t) => ({
    id: t.id({ description: 'Global ID of the answer (for onlyIfAnswerIds and choosing it).', resolve: (a) => encodeGlobalID('ChatbotAnswer', String(a.id)) }),
    key: t.exposeString('key', { description: "The client key given in the script's input, unique in the script." }),
    label: t.exposeString('label', { description: 'The text of the button.' }),
    redirectUrl: t.exposeString('redirectUrl', { nullable: true, description: 'Choosing the answer ends the script by sending the visitor to this http(s) address; null: the script goes on.' }),
  }),
});

export const ChatbotStep = builder.objectRef<ChatbotStepWithAnswers>('ChatbotStep').implement({
  description: 'A step of a chatbot script. Part of its script (not a Node); its id stays while its key does.',
  fields: (t) => ({
    id: t.id({ description: 'Global ID of the step.', resolve: (s) => encodeGlobalID('ChatbotStep', String(s.id)) }),
    key: t.exposeString('key', { description: "The client key given in the script's input, unique in the script." }),
    sequence: t.exposeInt('sequence', { description: 'Place in the script: 1, 2, 3 …' }),
    message: t.exposeString('message', { description: 'What the bot says (the question, for questions); may be empty for FORWARD_OPERATOR and CREATE_TICKET.' }),
    type: t.field({ type: ChatbotStepType, description: 'What the step does.', resolve: (s) => s.type }),
    answers: t.field({ type: [ChatbotAnswer], description: 'QUESTION_SELECTION: the buttons, in order (a short list, at most 20); empty for other steps.', resolve: (s) => s.answers }),
    onlyIfAnswerIds: t.idList({
      description:
        'Answers of earlier QUESTION_SELECTION steps that must have been chosen for the step to run: any of one step\'s answers (OR), and one of each step listed (AND). Empty: always. A step whose condition fails is skipped.',
      resolve: (s) => s.onlyIfAnswerIds.map((id) => encodeGlobalID('ChatbotAnswer', String(id))),
    }),
    ticketTeam: t.field({
      type: Team,
      nullable: true,
      description: "CREATE_TICKET: the team of the ticket; null: the channel's team (and for other steps).",
      resolve: (s, _args, ctx) =>
        s.ticketTeamId === null
          ? null
          : loadInBatch(ctx, 'ChatbotStep.ticketTeam', s.ticketTeamId, async (ids: number[]) => {
              const teams = new Map((await findTeams(ctx.db, ids)).map((team) => [team.id, team]));
              return ids.map((id) => teams.get(id) ?? null);
            }),
    }),
  }),
});

export const ChatbotScript = builder.objectRef<ChatbotScriptRow>('ChatbotScript');

builder.node(ChatbotScript, {
  description: "A chatbot script: its title is the bot's name in the chat; its steps run in order. Shared by the channels whose rules attach it. Staff read scripts; admins write them.",
  authScopes: { agent: true },
  id: { resolve: (s) => s.id },
  loadMany: async (ids, ctx) => {
    const found = new Map((await findChatbotScripts(ctx.db, ids.map(Number))).map((s) => [s.id, s]));
    return ids.map((id) => found.get(Number(id)) ?? null);
  },
  fields: (t) => ({
    title: t.exposeString('title', { description: "The bot's name in the chat." }),
    steps: t.field({
      type: [ChatbotStep],
      description: 'The steps in order, with their answers (a short list, at most 100).',
      resolve: (s, _args, ctx) =>
        loadInBatch(ctx, 'ChatbotScript.steps', s.id, async (ids: number[]) => {
          const steps = await stepsOfScripts(ctx.db, ids);
          return ids.map((id) => steps.get(id) ?? []);
        }),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When the script was made.', resolve: (s) => s.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the script last changed.', resolve: (s) => s.updatedAt }),
  }),
});

/** The script with this id, batched per request (for fields that name one, such as a rule's). */
export function chatbotScriptById(ctx: Context, id: number): Promise<ChatbotScriptRow | null> {
  return loadInBatch(ctx, 'chatbot script', id, async (ids: number[]) => {
    const found = new Map((await findChatbotScripts(ctx.db, ids)).map((s) => [s.id, s]));
    return ids.map((key) => found.get(key) ?? null);
  });
}

const ChatbotScriptConnection = builder.connectionObject(
  { type: ChatbotScript, name: 'ChatbotScriptConnection', ...connectionTypeOptions('A page of chatbot scripts, oldest first.') },
  { name: 'ChatbotScriptEdge', description: 'A chatbot script and its cursor.' },
);

builder.queryFields((t) => ({
  chatbotScripts: t.field({
    type: ChatbotScriptConnection,
    authScopes: { admin: true },
    description: 'Every chatbot script, oldest first. ADMIN only.',
    args: { first: t.arg.int({ description: 'Page size: at most 100, 20 when left out.' }), after: t.arg.string({ description: 'Return scripts after this cursor.' }) },
    resolve: (_root, args, ctx) =>
      withCursorErrors(async () => {
        const page = await chatbotScriptsPage(ctx.db, { first: args.first, after: args.after });
        const edges = page.rows.map((node) => ({ cursor: chatbotScriptCursor(node), node }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: page.totalCount,
        } as any;
      }),
  }),
}));

// ---------------------------------------------------------------- mutations

const ChatbotAnswerInput = builder.inputType('ChatbotAnswerInput', {
  description: 'An answer of a QUESTION_SELECTION step.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Any text of 1 to 64 characters, unique among the keys of the script; an answer whose key is unchanged keeps its id.' }),
    label: t.string({ required: true, description: 'The text of the button, 1 to 200 characters.' }),
    redirectUrl: t.string({ description: 'An http(s) address (at most 2000 characters): choosing the answer ends the script by sending the visitor there.' }),
  }),
});

const ChatbotStepInput = builder.inputType('ChatbotStepInput', {
  description: 'A step of a script, in the order of the list.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Any text of 1 to 64 characters, unique among the keys of the script (steps and answers); a step whose key is unchanged keeps its id.' }),
    type: t.field({ type: ChatbotStepType, required: true, description: 'What the step does.' }),
    message: t.string({ description: 'What the bot says, at most 2000 characters; required except for FORWARD_OPERATOR and CREATE_TICKET.' }),
    answers: t.field({ type: [ChatbotAnswerInput], description: 'QUESTION_SELECTION: 1 to 20 answers; other steps: none.' }),
    onlyIf: t.stringList({
      description: 'Keys of answers of earlier QUESTION_SELECTION steps: the step runs only if any listed answer of each step named was chosen (OR within a step, AND across steps). At most 50.',
    }),
    ticketTeamId: t.id({ description: "CREATE_TICKET: the team of the ticket; left out: the channel's team." }),
  }),
});

const CreateChatbotScriptInput = builder.inputType('CreateChatbotScriptInput', {
  description: 'A new chatbot script with its steps.',
  fields: (t) => ({
    title: t.string({ required: true, description: "The bot's name in the chat, 1 to 100 characters." }),
    steps: t.field({ type: [ChatbotStepInput], required: true, description: 'The steps in order, 1 to 100.' }),
  }),
});

const UpdateChatbotScriptInput = builder.inputType('UpdateChatbotScriptInput', {
  description: 'Changes to a script; fields left out stay as they are.',
  fields: (t) => ({
    scriptId: t.id({ required: true, description: 'The script.' }),
    title: t.string({ description: "The bot's name in the chat, 1 to 100 characters." }),
    steps: t.field({ type: [ChatbotStepInput], description: 'The whole new list of steps: steps and answers are replaced at once; those whose key is unchanged keep their ids.' }),
  }),
});

const ScriptIdInput = (name: string, description: string) =>
  builder.inputType(name, { description, fields: (t) => ({ scriptId: t.id({ required: true, description: 'The script.' }) }) });
const DeleteChatbotScriptInput = ScriptIdInput('DeleteChatbotScriptInput', 'The script to delete.');
const DuplicateChatbotScriptInput = ScriptIdInput('DuplicateChatbotScriptInput', 'The script to copy.');

const ScriptPayload = (name: string, description: string) => payloadType<ChatbotScriptRow, 'script'>(name, description, 'script', ChatbotScript, 'The script, when the mutation succeeded.');

const DeleteChatbotScriptPayload = builder.objectRef<{ deletedId?: string; userErrors: UserErrorShape[] }>('DeleteChatbotScriptPayload').implement({
  description: 'Result of deleteChatbotScript.',
  fields: (t) => ({
    deletedId: t.id({ nullable: true, description: 'Global ID of the deleted script.', resolve: (p) => p.deletedId ?? null }),
    userErrors: t.field({ type: [UserError], description: 'Why nothing was deleted (NOT_FOUND, SCRIPT_IN_USE); empty on success.', resolve: (p) => p.userErrors }),
  }),
});

type StepArg = {
  key: string;
  type: (typeof CHATBOT_STEP_TYPES)[number];
  message?: string | null;
  answers?: readonly { key: string; label: string; redirectUrl?: string | null }[] | null;
  onlyIf?: readonly string[] | null;
  ticketTeamId?: string | number | null;
};

/** The steps as the service takes them: team IDs decoded, a wrong one INVALID_ID at its path. */
function stepsOf(steps: readonly StepArg[]): ChatbotStepInput[] {
  const problems: UserErrorShape[] = [];
  const decoded = steps.map((step, i) => {
    let ticketTeamId: number | null = null;
    if (step.ticketTeamId != null) {
      ticketTeamId = idOf(String(step.ticketTeamId), 'Team');
      if (ticketTeamId === null) problems.push({ field: ['steps', String(i), 'ticketTeamId'], code: 'INVALID_ID', message: 'ticketTeamId must be the ID of a Team.' });
    }
    return { key: step.key, type: step.type, message: step.message, answers: step.answers, onlyIf: step.onlyIf, ticketTeamId };
  });
  if (problems.length > 0) throw new UserInputError(problems);
  return decoded;
}

const scriptIdOf = (globalId: string | number) => requireIdOf(String(globalId), 'ChatbotScript', 'scriptId');

builder.mutationFields((t) => ({
  createChatbotScript: t.field({
    type: ScriptPayload('CreateChatbotScriptPayload', 'Result of createChatbotScript.'),
    authScopes: { admin: true },
    description: 'Writes a new chatbot script with all its steps, answers and conditions in one call (ADMIN only).',
    args: { input: t.arg({ type: CreateChatbotScriptInput, required: true, description: 'Title and steps.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ script: await createChatbotScript(ctx.db, { title: input.title, steps: stepsOf(input.steps) }) })),
  }),
  updateChatbotScript: t.field({
    type: ScriptPayload('UpdateChatbotScriptPayload', 'Result of updateChatbotScript.'),
    authScopes: { admin: true },
    description: 'Changes a script: its title, and/or all its steps and answers at once (ADMIN only).',
    args: { input: t.arg({ type: UpdateChatbotScriptInput, required: true, description: 'Script and changes.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const scriptId = scriptIdOf(input.scriptId);
        return { script: await updateChatbotScript(ctx.db, scriptId, { title: input.title, steps: input.steps ? stepsOf(input.steps) : null }) };
      }),
  }),
  deleteChatbotScript: t.field({
    type: DeleteChatbotScriptPayload,
    authScopes: { admin: true },
    description: 'Deletes a script with its steps and answers (ADMIN only); SCRIPT_IN_USE while a live chat rule attaches it.',
    args: { input: t.arg({ type: DeleteChatbotScriptInput, required: true, description: 'The script.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const script = await deleteChatbotScript(ctx.db, scriptIdOf(input.scriptId));
        return { deletedId: encodeGlobalID('ChatbotScript', String(script.id)) };
      }),
  }),
  duplicateChatbotScript: t.field({
    type: ScriptPayload('DuplicateChatbotScriptPayload', 'Result of duplicateChatbotScript.'),
    authScopes: { admin: true },
    description: 'Copies a script under the title "<title> (copy)", with its steps, answers and conditions under new ids and the same keys (ADMIN only).',
    args: { input: t.arg({ type: DuplicateChatbotScriptInput, required: true, description: 'The script.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ script: await duplicateChatbotScript(ctx.db, scriptIdOf(input.scriptId)) })),
  }),
}));

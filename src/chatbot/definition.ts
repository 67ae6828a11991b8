/**
 * What an admin writes as a chatbot script, and the rules it must follow. Pure: the service saves
 * what this returns, and every rule is tested table by table.
 */
import type { UserErrorShape } from '../errors.js';
import { cleanTypedLine, cleanTypedText, isLongerThan, codePointLength } from '../text/clean.js';
import { CHATBOT_STEP_TYPES, type ChatbotStepType } from './engine.js';

export const CHATBOT_LIMITS = {
  title: 100,
  steps: 100,
  answersPerStep: 20,
  message: 2000,
  label: 200,
  redirectUrl: 2000,
  key: 64,
  onlyIf: 50,
} as const;

export interface ChatbotAnswerInput {
  key: string;
  label: string;
  redirectUrl?: string | null;
}

export interface ChatbotStepInput {
  key: string;
  type: ChatbotStepType;
  message?: string | null;
  answers?: readonly ChatbotAnswerInput[] | null;
  /** Keys of answers of earlier QUESTION_SELECTION steps. */
  onlyIf?: readonly string[] | null;
  /** CREATE_TICKET only: the ticket's team; null: the channel's team. */
  ticketTeamId?: number | null;
}

export interface ChatbotScriptInput {
  title: string;
  steps: readonly ChatbotStepInput[];
}

/** A checked script: texts cleaned, conditions by answer key, keys unique in the script. */
export interface ChatbotScriptPlan {
  title: string;
  steps: Array<{
    key: string;
    type: ChatbotStepType;
    message: string;
    ticketTeamId: number | null;
    onlyIfKeys: string[];
    answers: Array<{ key: string; label: string; redirectUrl: string | null }>;
  }>;
}

/** Message optional: the runtime says what it does (hands over, files the ticket). */
const MESSAGE_OPTIONAL: readonly ChatbotStepType[] = ['FORWARD_OPERATOR', 'CREATE_TICKET'];

/** An http(s) address, at most 2000 characters, or null. */
export function httpUrl(value: string): string | null {
  if (isLongerThan(value, CHATBOT_LIMITS.redirectUrl) || !/^https?:\/\//i.test(value)) return null;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? value : null;
  } catch {
    return null;
  }
}

export function checkChatbotTitle(title: string, problems: UserErrorShape[]): string {
  const cleaned = cleanTypedLine(title);
  if (cleaned === '') problems.push({ field: ['title'], code: 'REQUIRED', message: 'title is required: it is the name the bot shows in the chat.' });
  else if (isLongerThan(cleaned, CHATBOT_LIMITS.title)) problems.push({ field: ['title'], code: 'TOO_LONG', message: `title must be at most ${CHATBOT_LIMITS.title} characters.` });
  return cleaned;
}

/**
 * The rules of a script's steps, every problem named by its path under the input
 * (["steps", "2", "answers", "0", "key"]):
 * - 1 to 100 steps; keys of steps and answers 1–64 characters (INVALID_KEY), all distinct in the
 *   script (DUPLICATE_KEY);
 * - a message of at most 2000 characters, required except for FORWARD_OPERATOR and CREATE_TICKET;
 * - QUESTION_SELECTION has 1 to 20 answers (labels 1–200 characters, redirectUrl http(s)),
 *   other steps none; ticketTeamId on CREATE_TICKET only;
 * - onlyIf names answers of earlier QUESTION_SELECTION steps (INVALID_CONDITION), at most 50.
 */
export function checkChatbotSteps(steps: readonly ChatbotStepInput[], problems: UserErrorShape[]): ChatbotScriptPlan['steps'] {
  const add = (field: (string | number)[], code: UserErrorShape['code'], message: string) => problems.push({ field: field.map(String), code, message });
  if (steps.length === 0) add(['steps'], 'REQUIRED', 'A script needs at least one step.');
  if (steps.length > CHATBOT_LIMITS.steps) {
    add(['steps'], 'TOO_MANY', `A script has at most ${CHATBOT_LIMITS.steps} steps.`);
    return [];
  }
  const keys = new Set<string>();
  const checkKey = (key: string, path: (string | number)[]) => {
    if (codePointLength(key) < 1 || isLongerThan(key, CHATBOT_LIMITS.key)) add(path, 'INVALID_KEY', `key must be 1 to ${CHATBOT_LIMITS.key} characters.`);
    else if (keys.has(key)) add(path, 'DUPLICATE_KEY', `Another step or answer of the script already has the key "${key}": keys are unique in a script.`);
    keys.add(key);
  };
  // Answer key → index of its step, for conditions on earlier steps.
  const answerStep = new Map<string, number>();
  const plan: ChatbotScriptPlan['steps'] = [];
  steps.forEach((step, i) => {
    const at = (...rest: (string | number)[]) => ['steps', i, ...rest];
    checkKey(step.key, at('key'));
    if (!CHATBOT_STEP_TYPES.includes(step.type)) add(at('type'), 'INVALID_VALUE', 'type is not a step type.');
    const message = cleanTypedText(step.message ?? '').trim();
    if (message === '' && !MESSAGE_OPTIONAL.includes(step.type)) add(at('message'), 'REQUIRED', `A ${step.type} step needs a message: what the bot says.`);
    else if (isLongerThan(message, CHATBOT_LIMITS.message)) add(at('message'), 'TOO_LONG', `message must be at most ${CHATBOT_LIMITS.message} characters.`);
    const answers = step.answers ?? [];
    if (step.type === 'QUESTION_SELECTION') {
      if (answers.length === 0) add(at('answers'), 'REQUIRED', 'A QUESTION_SELECTION step needs at least one answer.');
      else if (answers.length > CHATBOT_LIMITS.answersPerStep) add(at('answers'), 'TOO_MANY', `A step has at most ${CHATBOT_LIMITS.answersPerStep} answers.`);
    } else if (answers.length > 0) add(at('answers'), 'INVALID_VALUE', 'Only QUESTION_SELECTION steps have answers.');
    const plannedAnswers = answers.slice(0, CHATBOT_LIMITS.answersPerStep).map((answer, j) => {
      checkKey(answer.key, at('answers', j, 'key'));
      const label = cleanTypedLine(answer.label);
      if (label === '' || isLongerThan(label, CHATBOT_LIMITS.label)) add(at('answers', j, 'label'), 'INVALID_LABEL', `label must be 1 to ${CHATBOT_LIMITS.label} characters.`);
      const rawUrl = (answer.redirectUrl ?? '').trim();
      const redirectUrl = rawUrl === '' ? null : httpUrl(rawUrl);
      if (rawUrl !== '' && redirectUrl === null) add(at('answers', j, 'redirectUrl'), 'INVALID_URL', `redirectUrl must be an http(s) address of at most ${CHATBOT_LIMITS.redirectUrl} characters.`);
      return { key: answer.key, label, redirectUrl };
    });
    if (step.ticketTeamId != null && step.type !== 'CREATE_TICKET') add(at('ticketTeamId'), 'INVALID_VALUE', 'Only CREATE_TICKET steps have a ticket team.');
    const onlyIf = step.onlyIf ?? [];
    if (onlyIf.length > CHATBOT_LIMITS.onlyIf) add(at('onlyIf'), 'TOO_MANY', `onlyIf lists at most ${CHATBOT_LIMITS.onlyIf} answers.`);
    onlyIf.slice(0, CHATBOT_LIMITS.onlyIf).forEach((key, k) => {
      const of = answerStep.get(key);
      if (of === undefined) {
        add(at('onlyIf', k), 'INVALID_CONDITION', `onlyIf names "${key.slice(0, 64)}", which is no answer of an earlier QUESTION_SELECTION step.`);
      }
    });
    // Answers become available to the conditions of later steps only.
    if (step.type === 'QUESTION_SELECTION') for (const a of plannedAnswers) if (!answerStep.has(a.key)) answerStep.set(a.key, i);
    plan.push({
      key: step.key,
      type: step.type,
      message,
      ticketTeamId: step.type === 'CREATE_TICKET' ? (step.ticketTeamId ?? null) : null,
      onlyIfKeys: [...new Set(onlyIf)],
      answers: plannedAnswers,
    });
  });
  return plan;
}

/** A whole script checked: the plan to save, or the problems (never both). */
export function checkChatbotScript(input: ChatbotScriptInput): { plan: ChatbotScriptPlan; problems: [] } | { plan: null; problems: UserErrorShape[] } {
  const problems: UserErrorShape[] = [];
  const title = checkChatbotTitle(input.title, problems);
  const steps = checkChatbotSteps(input.steps, problems);
  return problems.length > 0 ? { plan: null, problems } : { plan: { title, steps }, problems: [] };
}

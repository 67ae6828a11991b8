/**
 * The chatbot's step engine: pure, no I/O. Given a script (its steps in order, with answers and
 * conditions) and how far a conversation got, it says what the bot does next. The runtime
 * (live chat) posts the messages, records answers, hands over and files tickets; everything it
 * must decide is decided here, so each rule is tested with a table of cases.
 */
import { isInternetEmailAddress } from '../text/email-address.js';

export const CHATBOT_STEP_TYPES = [
  'TEXT',
  'QUESTION_SELECTION',
  'QUESTION_EMAIL',
  'QUESTION_PHONE',
  'FREE_INPUT_SINGLE',
  'FREE_INPUT_MULTI',
  'FORWARD_OPERATOR',
  'CREATE_TICKET',
] as const;
export type ChatbotStepType = (typeof CHATBOT_STEP_TYPES)[number];

/** Steps after which the bot waits for the visitor. */
export const WAITING_STEP_TYPES: readonly ChatbotStepType[] = ['QUESTION_SELECTION', 'QUESTION_EMAIL', 'QUESTION_PHONE', 'FREE_INPUT_SINGLE', 'FREE_INPUT_MULTI'];
/** Steps the runtime carries out (hand-over, ticket) before the bot goes on. */
export const ACTION_STEP_TYPES: readonly ChatbotStepType[] = ['FORWARD_OPERATOR', 'CREATE_TICKET'];

export interface ChatbotAnswerDef {
  id: number;
  key: string;
  label: string;
  redirectUrl: string | null;
}

export interface ChatbotStepDef {
  id: number;
  key: string;
  sequence: number;
  type: ChatbotStepType;
  message: string;
  /** CREATE_TICKET: the ticket's team; null: the channel's team. */
  ticketTeamId: number | null;
  /** Answers of earlier selection steps that must have been chosen: OR within a step, AND across steps. */
  onlyIfAnswerIds: readonly number[];
  /** QUESTION_SELECTION: the buttons, in order; empty for other steps. */
  answers: readonly ChatbotAnswerDef[];
}

/** A script as the engine reads it: steps in ascending sequence. */
export interface ChatbotScriptDef {
  id: number;
  title: string;
  steps: readonly ChatbotStepDef[];
}

/** Which answers are "chosen" for conditions: ids of answers picked on selection steps. */
export type ChosenAnswers = ReadonlySet<number> | readonly number[];

const asSet = (chosen: ChosenAnswers): ReadonlySet<number> => (chosen instanceof Set ? chosen : new Set(chosen as readonly number[]));

/**
 * Whether a step's condition holds: for every step named by its onlyIf answers, one of that
 * step's listed answers was chosen (OR within a step, AND across steps). No condition: holds.
 */
export function stepConditionHolds(script: ChatbotScriptDef, step: ChatbotStepDef, chosen: ChosenAnswers): boolean {
  if (step.onlyIfAnswerIds.length === 0) return true;
  const picked = asSet(chosen);
  const stepOfAnswer = new Map<number, number>();
  for (const s of script.steps) for (const a of s.answers) stepOfAnswer.set(a.id, s.id);
  const groups = new Map<string, number[]>();
  for (const answerId of step.onlyIfAnswerIds) {
    // An answer no step offers (cannot be saved so) forms a group of its own, never satisfied unless chosen.
    const group = stepOfAnswer.has(answerId) ? `s${stepOfAnswer.get(answerId)}` : `a${answerId}`;
    groups.set(group, [...(groups.get(group) ?? []), answerId]);
  }
  return [...groups.values()].every((ids) => ids.some((id) => picked.has(id)));
}

/**
 * The step after `afterStepId` (null: from the start): the first later step whose condition
 * holds or that has none. Null when no step is left, or when `afterStepId` is no step of the
 * script any more (an edit removed it: the script is over).
 */
export function nextChatbotStep(script: ChatbotScriptDef, afterStepId: number | null, chosen: ChosenAnswers): ChatbotStepDef | null {
  let from = 0;
  if (afterStepId !== null) {
    const index = script.steps.findIndex((s) => s.id === afterStepId);
    if (index === -1) return null;
    from = index + 1;
  }
  const picked = asSet(chosen);
  return script.steps.slice(from).find((s) => stepConditionHolds(script, s, picked)) ?? null;
}

// ---------------------------------------------------------------- what the visitor types

/** A phone number: digits, spaces and + ( ) . - / (as the website form takes it, also opening with "("), 5 to 30 characters, 5 digits or more. */
const PHONE = /^\+?[0-9(][0-9 ().\-/]{4,29}$/;

export type ChatbotAnswerProblem = 'INVALID_EMAIL' | 'INVALID_PHONE';

/** Why a typed answer does not fit its step (an email or phone question), or null when it does. */
export function chatbotAnswerProblem(type: ChatbotStepType, text: string): ChatbotAnswerProblem | null {
  const value = text.trim();
  if (type === 'QUESTION_EMAIL') return isInternetEmailAddress(value) ? null : 'INVALID_EMAIL';
  if (type === 'QUESTION_PHONE') return PHONE.test(value) && (value.match(/[0-9]/g)?.length ?? 0) >= 5 ? null : 'INVALID_PHONE';
  return null;
}

/** "operator" in the languages of the widget and the public pages (en, fr, nl, es), without accents. */
export const OPERATOR_WORDS: readonly string[] = ['operator', 'operateur', 'operatrice', 'operador', 'operadora'];
const MAX_OPERATOR_REQUEST_WORDS = 8;

const withoutAccents = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '');

/**
 * Whether a visitor's message asks for an operator: a short message (at most 8 words) one of
 * whose words is "operator" in English or Dutch, "opérateur"/"opératrice" in French or
 * "operador(a)" in Spanish, in any case, accents optional. Words are split at spaces and lose
 * surrounding punctuation, so "operator@example.com" or "operators-guide" are no request.
 */
export function asksForOperator(text: string): boolean {
  const words = withoutAccents(text)
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ''))
    .filter(Boolean);
  return words.length > 0 && words.length <= MAX_OPERATOR_REQUEST_WORDS && words.some((w) => OPERATOR_WORDS.includes(w));
}

/** The answer of a selection step whose label is the typed text (case and accents aside), or null. */
export function answerByLabel(step: ChatbotStepDef, text: string): ChatbotAnswerDef | null {
  const fold = (s: string) => withoutAccents(s).trim().replace(/\s+/g, ' ').toLowerCase();
  const typed = fold(text);
  return step.answers.find((a) => fold(a.label) === typed) ?? null;
}

// ---------------------------------------------------------------- turns

/** How far a conversation with the bot got: what the runtime keeps between turns. */
export interface ChatbotProgress {
  /** The step the bot is on (waiting for the visitor, or an action the runtime carries out); null before the start. */
  stepId: number | null;
  /** Answers chosen on selection steps, in order. */
  chosenAnswerIds: readonly number[];
  /** A CREATE_TICKET step made its ticket: the script ends without the offer. */
  ticketCreated: boolean;
  /** The script is over (its end, a redirect answer): the bot asks nothing more. */
  ended: boolean;
}

export const CHATBOT_START: ChatbotProgress = Object.freeze({ stepId: null, chosenAnswerIds: Object.freeze([]) as readonly number[], ticketCreated: false, ended: false });

export type ChatbotInput =
  /** The session opened with the bot. */
  | { kind: 'START' }
  /** The visitor sent a message (free text, an email, a phone number, "operator" …). */
  | { kind: 'MESSAGE'; text: string }
  /** The visitor pressed an answer button. */
  | { kind: 'CHOICE'; answerId: number }
  /** FREE_INPUT_MULTI: the visitor has finished (a pause after the last message, or a send, as the runtime decides). */
  | { kind: 'INPUT_FINISHED' }
  /**
   * The runtime carried out the current FORWARD_OPERATOR or CREATE_TICKET step and the bot goes
   * on: no operator was online (a hand-over or a place in line ends the bot instead: no call),
   * or the ticket was made (`ticketCreated`).
   */
  | { kind: 'CONTINUE'; ticketCreated?: boolean };

export type ChatbotAction =
  /** Post the step's message as the bot (with its answers as buttons for QUESTION_SELECTION). */
  | { kind: 'SAY'; step: ChatbotStepDef }
  /** Keep the visitor's answer to the step (contact data and free text go into a ticket). */
  | { kind: 'RECORD'; step: ChatbotStepDef; value: string; answer: ChatbotAnswerDef | null }
  /** The answer does not fit: explain (chatbotText) and ask the step again; the bot stays on it. */
  | { kind: 'REASK'; step: ChatbotStepDef; problem: ChatbotAnswerProblem | 'CHOOSE_ANSWER' }
  /** The visitor chose an answer with a link: send them there; the script ends. */
  | { kind: 'REDIRECT'; step: ChatbotStepDef; answer: ChatbotAnswerDef; url: string }
  /** Hand over to an operator through the core's assignment; then CONTINUE when nobody is online. */
  | { kind: 'FORWARD_OPERATOR'; step: ChatbotStepDef }
  /** File a ticket in step.ticketTeamId (null: the channel's team); then CONTINUE with ticketCreated. */
  | { kind: 'CREATE_TICKET'; step: ChatbotStepDef }
  /** The visitor typed "operator": hand over if one is available; the progress stays as it was. */
  | { kind: 'OPERATOR_REQUESTED' }
  /** The steps ran out without hand-over or ticket: offer an operator if one is available, else leaving a message. */
  | { kind: 'OFFER' }
  /** The steps ran out after a ticket was made. */
  | { kind: 'END' };

/** What the bot waits for after a turn: START, the visitor, the runtime carrying out an action, or nothing (over). */
export type ChatbotStatus = 'NOT_STARTED' | 'WAITING_FOR_VISITOR' | 'ACTION' | 'ENDED';

export type ChatbotTurn =
  | { refused: null; actions: ChatbotAction[]; progress: ChatbotProgress; status: ChatbotStatus }
  /** The input does not fit the current step (an answer it does not offer, a CONTINUE with no action pending): INVALID_VALUE. */
  | { refused: 'NOT_OFFERED' | 'NOT_EXPECTED'; actions: []; progress: ChatbotProgress; status: ChatbotStatus };

/** The step the bot is on, or null (not started, ended, or removed by an edit). */
export function currentChatbotStep(script: ChatbotScriptDef, progress: ChatbotProgress): ChatbotStepDef | null {
  if (progress.stepId === null || progress.ended) return null;
  return script.steps.find((s) => s.id === progress.stepId) ?? null;
}

/** The status a progress stands at. */
export function chatbotStatusOf(script: ChatbotScriptDef, progress: ChatbotProgress): ChatbotStatus {
  const step = currentChatbotStep(script, progress);
  if (!step) return progress.stepId === null && !progress.ended ? 'NOT_STARTED' : 'ENDED';
  return WAITING_STEP_TYPES.includes(step.type) ? 'WAITING_FOR_VISITOR' : 'ACTION';
}

/** From after `progress.stepId`: post TEXT steps and go on, stop at a question or an action, or end. */
function advance(script: ChatbotScriptDef, progress: ChatbotProgress, actions: ChatbotAction[]): ChatbotTurn {
  let stepId = progress.stepId;
  for (;;) {
    const step = nextChatbotStep(script, stepId, progress.chosenAnswerIds);
    if (!step) {
      actions.push(progress.ticketCreated ? { kind: 'END' } : { kind: 'OFFER' });
      return { refused: null, actions, progress: { ...progress, stepId: null, ended: true }, status: 'ENDED' };
    }
    stepId = step.id;
    if (step.type === 'TEXT') {
      actions.push({ kind: 'SAY', step });
      continue;
    }
    const next = { ...progress, stepId: step.id };
    if (WAITING_STEP_TYPES.includes(step.type)) {
      actions.push({ kind: 'SAY', step });
      return { refused: null, actions, progress: next, status: 'WAITING_FOR_VISITOR' };
    }
    if (step.message.trim() !== '') actions.push({ kind: 'SAY', step });
    actions.push(step.type === 'FORWARD_OPERATOR' ? { kind: 'FORWARD_OPERATOR', step } : { kind: 'CREATE_TICKET', step });
    return { refused: null, actions, progress: next, status: 'ACTION' };
  }
}

const stay = (script: ChatbotScriptDef, progress: ChatbotProgress, actions: ChatbotAction[]): ChatbotTurn => ({
  refused: null,
  actions,
  progress,
  status: chatbotStatusOf(script, progress),
});

const refuse = (script: ChatbotScriptDef, progress: ChatbotProgress, why: 'NOT_OFFERED' | 'NOT_EXPECTED'): ChatbotTurn => ({
  refused: why,
  actions: [],
  progress,
  status: chatbotStatusOf(script, progress),
});

/**
 * One turn of the bot: what it does on `input` given `progress`, and the progress after it.
 * - START runs the first steps (TEXT steps are said and passed) up to a question, an action or the end.
 * - A message on an email or phone question is checked: valid, it is recorded and the bot goes
 *   on; invalid, it is explained and asked again (REASK). "operator" (asksForOperator) asks for
 *   an operator whatever the step, unless it is the valid answer of an email or phone question.
 * - A message on a selection question chooses the answer whose label it is, else asks to choose.
 * - A free-input question records the message; FREE_INPUT_MULTI goes on only at INPUT_FINISHED.
 * - A chosen answer with a redirect link ends the script (REDIRECT); others go on.
 * - Steps that run out end with OFFER, or END when a ticket was made.
 * - After the end the bot says nothing (an "operator" request still counts).
 */
export function chatbotTurn(script: ChatbotScriptDef, progress: ChatbotProgress, input: ChatbotInput): ChatbotTurn {
  const step = currentChatbotStep(script, progress);
  // An edit removed the step the bot was on: the script is over, with its offer (never stranded).
  if (progress.stepId !== null && !progress.ended && !step && input.kind !== 'START') return advance(script, progress, []);
  switch (input.kind) {
    case 'START':
      if (progress.stepId !== null || progress.ended) return refuse(script, progress, 'NOT_EXPECTED');
      return advance(script, progress, []);
    case 'CONTINUE': {
      if (!step || !ACTION_STEP_TYPES.includes(step.type)) return refuse(script, progress, 'NOT_EXPECTED');
      return advance(script, { ...progress, ticketCreated: progress.ticketCreated || (step.type === 'CREATE_TICKET' && input.ticketCreated === true) }, []);
    }
    case 'INPUT_FINISHED':
      if (!step || step.type !== 'FREE_INPUT_MULTI') return refuse(script, progress, 'NOT_EXPECTED');
      return advance(script, progress, []);
    case 'CHOICE': {
      const answer = step?.type === 'QUESTION_SELECTION' ? step.answers.find((a) => a.id === input.answerId) : undefined;
      if (!step || !answer) return refuse(script, progress, 'NOT_OFFERED');
      return choose(script, progress, step, answer);
    }
    case 'MESSAGE': {
      const text = input.text.trim();
      const fitting = step && (step.type === 'QUESTION_EMAIL' || step.type === 'QUESTION_PHONE') && chatbotAnswerProblem(step.type, text) === null;
      if (!fitting && asksForOperator(text)) return stay(script, progress, [{ kind: 'OPERATOR_REQUESTED' }]);
      if (!step || !WAITING_STEP_TYPES.includes(step.type)) return stay(script, progress, []);
      switch (step.type) {
        case 'QUESTION_SELECTION': {
          const answer = answerByLabel(step, text);
          return answer ? choose(script, progress, step, answer) : stay(script, progress, [{ kind: 'REASK', step, problem: 'CHOOSE_ANSWER' }]);
        }
        case 'QUESTION_EMAIL':
        case 'QUESTION_PHONE': {
          const problem = chatbotAnswerProblem(step.type, text);
          if (problem) return stay(script, progress, [{ kind: 'REASK', step, problem }]);
          return advance(script, progress, [{ kind: 'RECORD', step, value: text, answer: null }]);
        }
        case 'FREE_INPUT_MULTI':
          return stay(script, progress, text === '' ? [] : [{ kind: 'RECORD', step, value: text, answer: null }]);
        default:
          if (text === '') return stay(script, progress, []);
          return advance(script, progress, [{ kind: 'RECORD', step, value: text, answer: null }]);
      }
    }
  }
}

function choose(script: ChatbotScriptDef, progress: ChatbotProgress, step: ChatbotStepDef, answer: ChatbotAnswerDef): ChatbotTurn {
  const chosen = { ...progress, chosenAnswerIds: [...progress.chosenAnswerIds, answer.id] };
  const record: ChatbotAction = { kind: 'RECORD', step, value: answer.label, answer };
  if (answer.redirectUrl) {
    return {
      refused: null,
      actions: [record, { kind: 'REDIRECT', step, answer, url: answer.redirectUrl }],
      progress: { ...chosen, stepId: null, ended: true },
      status: 'ENDED',
    };
  }
  return advance(script, chosen, [record]);
}

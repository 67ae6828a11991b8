import { describe, expect, it } from 'vitest';
import {
  asksForOperator,
  chatbotAnswerProblem,
  chatbotTurn,
  CHATBOT_START,
  nextChatbotStep,
  stepConditionHolds,
  type ChatbotAction,
  type ChatbotInput,
  type ChatbotProgress,
  type ChatbotScriptDef,
  type ChatbotStepDef,
  type ChatbotStepType,
} from '../../src/chatbot/engine.js';
import { chatbotText } from '../../src/chatbot/texts.js';

let nextAnswerId = 100;
const answer = (key: string, redirectUrl: string | null = null) => ({ id: nextAnswerId++, key, label: key[0]!.toUpperCase() + key.slice(1), redirectUrl });
const step = (id: number, type: ChatbotStepType, extra: Partial<ChatbotStepDef> = {}): ChatbotStepDef => ({
  id,
  key: `s${id}`,
  sequence: id,
  type,
  message: `message ${id}`,
  ticketTeamId: null,
  onlyIfAnswerIds: [],
  answers: [],
  ...extra,
});

// Two selection steps and steps behind OR / AND conditions on them.
const red = answer('red');
const green = answer('green');
const blue = answer('blue');
const small = answer('small');
const large = answer('large');
const colour = step(1, 'QUESTION_SELECTION', { answers: [red, green, blue] });
const size = step(2, 'QUESTION_SELECTION', { answers: [small, large] });
const warm = step(3, 'TEXT', { onlyIfAnswerIds: [red.id] });
const redOrGreen = step(4, 'TEXT', { onlyIfAnswerIds: [red.id, green.id] });
const greenAndLarge = step(5, 'TEXT', { onlyIfAnswerIds: [green.id, large.id] });
const redOrBlueAndSmall = step(6, 'TEXT', { onlyIfAnswerIds: [red.id, blue.id, small.id] });
const always = step(7, 'TEXT');
const branches: ChatbotScriptDef = { id: 1, title: 'Bot', steps: [colour, size, warm, redOrGreen, greenAndLarge, redOrBlueAndSmall, always] };

describe('stepConditionHolds: OR within a step, AND across steps', () => {
  it.each([
    ['no condition holds always', always, [], true],
    ['one answer named, chosen', warm, [red.id], true],
    ['one answer named, another chosen', warm, [green.id], false],
    ['nothing chosen yet', warm, [], false],
    ['OR: the first listed', redOrGreen, [red.id], true],
    ['OR: the second listed', redOrGreen, [green.id, small.id], true],
    ['OR: neither', redOrGreen, [blue.id], false],
    ['AND: both steps satisfied', greenAndLarge, [green.id, large.id], true],
    ['AND: only the first step', greenAndLarge, [green.id, small.id], false],
    ['AND: only the second step', greenAndLarge, [red.id, large.id], false],
    ['OR and AND: blue and small', redOrBlueAndSmall, [blue.id, small.id], true],
    ['OR and AND: red and small', redOrBlueAndSmall, [red.id, small.id], true],
    ['OR and AND: red and large', redOrBlueAndSmall, [red.id, large.id], false],
    ['OR and AND: green and small', redOrBlueAndSmall, [green.id, small.id], false],
  ] as const)('%s', (_name, target, chosen, expected) => {
    expect(stepConditionHolds(branches, target, chosen)).toBe(expected);
    expect(stepConditionHolds(branches, target, new Set(chosen))).toBe(expected);
  });
});

describe('nextChatbotStep: the first later step whose condition holds or that has none', () => {
  it.each([
    ['from the start', null, [], colour],
    ['after the first question', colour.id, [red.id], size],
    ['red, small: the red step', size.id, [red.id, small.id], warm],
    ['red: then red-or-green', warm.id, [red.id, small.id], redOrGreen],
    ['red, small: skips green-and-large for red-or-blue-and-small', redOrGreen.id, [red.id, small.id], redOrBlueAndSmall],
    ['green, large: skips the red step', size.id, [green.id, large.id], redOrGreen],
    ['green, large: then green-and-large', redOrGreen.id, [green.id, large.id], greenAndLarge],
    ['blue, large: every conditional step skipped', size.id, [blue.id, large.id], always],
    ['after the last step: none', always.id, [], null],
    ['a step the script no longer has: none', 999, [], null],
  ] as const)('%s', (_name, after, chosen, expected) => {
    expect(nextChatbotStep(branches, after, chosen)).toBe(expected);
  });

  it('skips a first step whose condition cannot hold yet', () => {
    const script: ChatbotScriptDef = { id: 2, title: 'Bot', steps: [step(1, 'TEXT', { onlyIfAnswerIds: [red.id] }), step(2, 'TEXT')] };
    expect(nextChatbotStep(script, null, [])?.id).toBe(2);
  });
});

describe('chatbotAnswerProblem', () => {
  it.each([
    ['QUESTION_EMAIL', 'jane@example.com', null],
    ['QUESTION_EMAIL', '  jane@example.com  ', null],
    ['QUESTION_EMAIL', 'jane', 'INVALID_EMAIL'],
    ['QUESTION_EMAIL', 'jane@localhost', 'INVALID_EMAIL'],
    ['QUESTION_EMAIL', 'jane @example.com', 'INVALID_EMAIL'],
    ['QUESTION_EMAIL', '', 'INVALID_EMAIL'],
    ['QUESTION_PHONE', '+32 2 123 45 67', null],
    ['QUESTION_PHONE', '(02) 123-4567', null],
    ['QUESTION_PHONE', '12345', null],
    ['QUESTION_PHONE', '1234', 'INVALID_PHONE'],
    ['QUESTION_PHONE', 'call me', 'INVALID_PHONE'],
    ['QUESTION_PHONE', '+32 2 123 45 67 ext. 5', 'INVALID_PHONE'],
    ['FREE_INPUT_SINGLE', 'anything', null],
    ['QUESTION_SELECTION', 'anything', null],
  ] as const)('%s %j → %s', (type, text, expected) => {
    expect(chatbotAnswerProblem(type, text)).toBe(expected);
  });
});

describe('asksForOperator: "operator" in the four languages', () => {
  it.each([
    ['operator', true],
    ['Operator!', true],
    ['OPERATOR', true],
    ['opérateur', true],
    ['operateur', true],
    ['Une opératrice svp', true],
    ['operador', true],
    ['¿Un operador, por favor?', true],
    ['Ik wil een operator', true],
    ['I want to talk to an operator please', true],
    ['', false],
    ['hello', false],
    ['operators', false],
    ['operator@example.com', false],
    ['my phone operator charges me twice a month for the same thing and I am tired', false],
  ] as const)('%j → %s', (text, expected) => {
    expect(asksForOperator(text)).toBe(expected);
  });
});

// ---------------------------------------------------------------- turns

const kinds = (actions: ChatbotAction[]) =>
  actions.map((a) => {
    switch (a.kind) {
      case 'SAY':
        return `SAY ${a.step.key}`;
      case 'RECORD':
        return `RECORD ${a.step.key}=${a.value}`;
      case 'REASK':
        return `REASK ${a.step.key} ${a.problem}`;
      case 'REDIRECT':
        return `REDIRECT ${a.url}`;
      case 'FORWARD_OPERATOR':
      case 'CREATE_TICKET':
        return `${a.kind} ${a.step.key}`;
      default:
        return a.kind;
    }
  });

/** Runs inputs in order from the start; returns each turn's actions, the last status and progress. */
function run(script: ChatbotScriptDef, inputs: ChatbotInput[]) {
  let progress: ChatbotProgress = CHATBOT_START;
  const log: string[][] = [];
  let status = 'NOT_STARTED';
  for (const input of inputs) {
    const turn = chatbotTurn(script, progress, input);
    if (turn.refused) {
      log.push([`REFUSED ${turn.refused}`]);
      continue;
    }
    log.push(kinds(turn.actions));
    progress = turn.progress;
    status = turn.status;
  }
  return { log, status, progress };
}

// The Odoo documentation's example: a greeting, a selection whose pricing answer redirects, a
// question leading to an email step and a ticket, and one that forwards to an operator.
const pricing = answer('pricing', 'https://example.com/pricing');
const bug = answer('bug');
const sales = answer('sales');
const odoo: ChatbotScriptDef = {
  id: 3,
  title: 'Odoo Bot',
  steps: [
    step(1, 'TEXT', { key: 'hello', message: 'Hello! I am the bot.' }),
    step(2, 'QUESTION_SELECTION', { key: 'topic', message: 'What brings you here?', answers: [pricing, bug, sales] }),
    step(3, 'FREE_INPUT_SINGLE', { key: 'describe', message: 'Describe the bug.', onlyIfAnswerIds: [bug.id] }),
    step(4, 'QUESTION_EMAIL', { key: 'email', message: 'Your email?', onlyIfAnswerIds: [bug.id] }),
    step(5, 'CREATE_TICKET', { key: 'ticket', message: '', onlyIfAnswerIds: [bug.id] }),
    step(6, 'FORWARD_OPERATOR', { key: 'forward', message: 'Let me find someone.', onlyIfAnswerIds: [sales.id] }),
    step(7, 'TEXT', { key: 'bye', message: 'Anything else?', onlyIfAnswerIds: [sales.id] }),
  ],
};

describe('chatbotTurn', () => {
  it.each([
    ['pricing: the redirect answer ends the script', [{ kind: 'START' }, { kind: 'CHOICE', answerId: pricing.id }], [['SAY hello', 'SAY topic'], ['RECORD topic=Pricing', 'REDIRECT https://example.com/pricing']], 'ENDED'],
    [
      'bug: free text, an invalid email asked again, a valid one, the ticket, then the end (no offer after a ticket)',
      [
        { kind: 'START' },
        { kind: 'CHOICE', answerId: bug.id },
        { kind: 'MESSAGE', text: 'The printer is on fire' },
        { kind: 'MESSAGE', text: 'jane at example' },
        { kind: 'MESSAGE', text: 'jane@example.com' },
        { kind: 'CONTINUE', ticketCreated: true },
      ],
      [
        ['SAY hello', 'SAY topic'],
        ['RECORD topic=Bug', 'SAY describe'],
        ['RECORD describe=The printer is on fire', 'SAY email'],
        ['REASK email INVALID_EMAIL'],
        ['RECORD email=jane@example.com', 'CREATE_TICKET ticket'],
        ['END'],
      ],
      'ENDED',
    ],
    [
      'sales: forwarded; nobody online, so the script goes on and ends with the offer',
      [{ kind: 'START' }, { kind: 'CHOICE', answerId: sales.id }, { kind: 'CONTINUE' }],
      [['SAY hello', 'SAY topic'], ['RECORD topic=Sales', 'SAY forward', 'FORWARD_OPERATOR forward'], ['SAY bye', 'OFFER']],
      'ENDED',
    ],
    [
      'a typed label chooses the answer; other text is asked again',
      [{ kind: 'START' }, { kind: 'MESSAGE', text: 'what?' }, { kind: 'MESSAGE', text: '  SALES ' }],
      [['SAY hello', 'SAY topic'], ['REASK topic CHOOSE_ANSWER'], ['RECORD topic=Sales', 'SAY forward', 'FORWARD_OPERATOR forward']],
      'ACTION',
    ],
    [
      'an answer the question does not offer is refused',
      [{ kind: 'START' }, { kind: 'CHOICE', answerId: red.id }, { kind: 'CHOICE', answerId: 123456 }],
      [['SAY hello', 'SAY topic'], ['REFUSED NOT_OFFERED'], ['REFUSED NOT_OFFERED']],
      'WAITING_FOR_VISITOR',
    ],
    [
      '"operator" asks for one whatever the step, and the bot stays on it',
      [{ kind: 'START' }, { kind: 'MESSAGE', text: 'Opérateur !' }, { kind: 'CHOICE', answerId: bug.id }, { kind: 'MESSAGE', text: 'operador' }],
      [['SAY hello', 'SAY topic'], ['OPERATOR_REQUESTED'], ['RECORD topic=Bug', 'SAY describe'], ['OPERATOR_REQUESTED']],
      'WAITING_FOR_VISITOR',
    ],
    [
      'START twice, and CONTINUE with no action pending, are refused',
      [{ kind: 'START' }, { kind: 'START' }, { kind: 'CONTINUE' }, { kind: 'INPUT_FINISHED' }],
      [['SAY hello', 'SAY topic'], ['REFUSED NOT_EXPECTED'], ['REFUSED NOT_EXPECTED'], ['REFUSED NOT_EXPECTED']],
      'WAITING_FOR_VISITOR',
    ],
  ] as const)('%s', (_name, inputs, expected, status) => {
    const result = run(odoo, inputs as unknown as ChatbotInput[]);
    expect(result.log).toEqual(expected);
    expect(result.status).toBe(status);
  });

  it('stays on a phone step until the answer is a phone number', () => {
    const script: ChatbotScriptDef = { id: 4, title: 'Bot', steps: [step(1, 'QUESTION_PHONE', { key: 'phone' }), step(2, 'TEXT', { key: 'thanks' })] };
    const result = run(script, [{ kind: 'START' }, { kind: 'MESSAGE', text: 'no' }, { kind: 'MESSAGE', text: 'call me maybe' }, { kind: 'MESSAGE', text: '+32 2 555 01 02' }]);
    expect(result.log).toEqual([['SAY phone'], ['REASK phone INVALID_PHONE'], ['REASK phone INVALID_PHONE'], ['RECORD phone=+32 2 555 01 02', 'SAY thanks', 'OFFER']]);
    expect(result.progress).toMatchObject({ ended: true, ticketCreated: false });
  });

  it('an email that contains "operator" is the answer, not a request', () => {
    const script: ChatbotScriptDef = { id: 5, title: 'Bot', steps: [step(1, 'QUESTION_EMAIL', { key: 'email' })] };
    expect(run(script, [{ kind: 'START' }, { kind: 'MESSAGE', text: 'operator@example.com' }]).log).toEqual([['SAY email'], ['RECORD email=operator@example.com', 'OFFER']]);
  });

  it('FREE_INPUT_MULTI records every message and goes on when the visitor has finished', () => {
    const script: ChatbotScriptDef = { id: 6, title: 'Bot', steps: [step(1, 'FREE_INPUT_MULTI', { key: 'story' }), step(2, 'CREATE_TICKET', { key: 'ticket', message: '' })] };
    const result = run(script, [{ kind: 'START' }, { kind: 'MESSAGE', text: 'first' }, { kind: 'MESSAGE', text: 'second' }, { kind: 'INPUT_FINISHED' }, { kind: 'CONTINUE', ticketCreated: false }]);
    expect(result.log).toEqual([['SAY story'], ['RECORD story=first'], ['RECORD story=second'], ['CREATE_TICKET ticket'], ['OFFER']]);
  });

  it('an empty script ends at once with the offer; after the end the bot says nothing but hears "operator"', () => {
    const result = run({ id: 7, title: 'Bot', steps: [] }, [{ kind: 'START' }, { kind: 'MESSAGE', text: 'hello?' }, { kind: 'MESSAGE', text: 'operator' }]);
    expect(result.log).toEqual([['OFFER'], [], ['OPERATOR_REQUESTED']]);
    expect(result.status).toBe('ENDED');
  });

  it('a step removed by an edit while the bot waited on it ends the script with the offer', () => {
    const before = run(odoo, [{ kind: 'START' }, { kind: 'CHOICE', answerId: bug.id }]);
    expect(before.progress.stepId).toBe(3);
    const edited: ChatbotScriptDef = { ...odoo, steps: odoo.steps.filter((s) => s.id !== 3) };
    const turn = chatbotTurn(edited, before.progress, { kind: 'MESSAGE', text: 'hello' });
    expect(kinds(turn.actions)).toEqual(['OFFER']);
    expect(turn.status).toBe('ENDED');
  });

  it('does not change the progress it is given', () => {
    const progress: ChatbotProgress = { stepId: null, chosenAnswerIds: [], ticketCreated: false, ended: false };
    chatbotTurn(odoo, progress, { kind: 'START' });
    expect(progress).toEqual({ stepId: null, chosenAnswerIds: [], ticketCreated: false, ended: false });
  });
});

describe('chatbotText', () => {
  it.each([
    ['en', 'INVALID_EMAIL', undefined, /email address/],
    ['fr-BE', 'INVALID_EMAIL', undefined, /adresse e-mail/],
    ['nl', 'OFFER_MESSAGE', undefined, /bericht/],
    ['es', 'TICKET_CREATED', 42, /n\.º 42/],
    ['de', 'CHOOSE_ANSWER', undefined, /choose one of the answers/],
    [null, 'WAITING_IN_LINE', 3, /number 3 in line/],
  ] as const)('%s %s', (language, key, n, expected) => {
    expect(chatbotText(language, key, n)).toMatch(expected);
  });
});

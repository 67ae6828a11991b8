import { describe, expect, it } from 'vitest';
import { checkChatbotScript, httpUrl, type ChatbotStepInput } from '../../src/chatbot/definition.js';
import { copyTitle } from '../../src/chatbot/service.js';

const question = (key: string, answers: string[], onlyIf: string[] = []): ChatbotStepInput => ({
  key,
  type: 'QUESTION_SELECTION',
  message: `${key}?`,
  answers: answers.map((a) => ({ key: a, label: a })),
  onlyIf,
});
const text = (key: string, onlyIf: string[] = []): ChatbotStepInput => ({ key, type: 'TEXT', message: key, onlyIf });

describe('checkChatbotScript: conditions name answers of earlier selection steps', () => {
  it.each([
    ['an earlier answer', [question('q', ['a', 'b']), text('t', ['a'])], []],
    ['OR and AND across two earlier steps', [question('q', ['a', 'b']), question('r', ['c'], ['b']), text('t', ['a', 'b', 'c'])], []],
    ['its own answer', [question('q', ['a'], ['a'])], [['steps', '0', 'onlyIf', '0']]],
    ['a later answer', [text('t', ['a']), question('q', ['a'])], [['steps', '0', 'onlyIf', '0']]],
    ['a step key', [question('q', ['a']), text('t', ['q'])], [['steps', '1', 'onlyIf', '0']]],
    ['an unknown key', [question('q', ['a']), text('t', ['a', 'zzz'])], [['steps', '1', 'onlyIf', '1']]],
  ] as const)('%s', (_name, steps, invalid) => {
    const result = checkChatbotScript({ title: 'Bot', steps: steps as unknown as ChatbotStepInput[] });
    expect(result.problems.filter((p) => p.code === 'INVALID_CONDITION').map((p) => p.field)).toEqual(invalid);
  });

  it('keeps the order, cleans texts and leaves conditions by key, without repeats', () => {
    const result = checkChatbotScript({ title: ' My\u0007  bot ', steps: [question('q', ['a']), { ...text('t', ['a', 'a']), message: ' Hi\u0000? ' }] });
    expect(result.problems).toEqual([]);
    expect(result.plan).toEqual({
      title: 'My bot',
      steps: [
        { key: 'q', type: 'QUESTION_SELECTION', message: 'q?', ticketTeamId: null, onlyIfKeys: [], answers: [{ key: 'a', label: 'a', redirectUrl: null }] },
        { key: 't', type: 'TEXT', message: 'Hi?', ticketTeamId: null, onlyIfKeys: ['a'], answers: [] },
      ],
    });
  });
});

describe('httpUrl', () => {
  it.each([
    ['https://example.com/pricing', true],
    ['HTTP://example.com', true],
    ['https://example.com/a?b=c#d', true],
    ['javascript:alert(1)', false],
    ['ftp://example.com', false],
    ['//example.com', false],
    ['https://', false],
    ['example.com', false],
    [`https://example.com/${'x'.repeat(1981)}`, false],
  ])('%s → %s', (value, ok) => expect(httpUrl(value) !== null).toBe(ok));
});

describe('copyTitle', () => {
  it.each([
    ['Bot', 'Bot (copy)'],
    ['B'.repeat(93), `${'B'.repeat(93)} (copy)`],
    ['B'.repeat(100), `${'B'.repeat(93)} (copy)`],
    ['🙂'.repeat(100), `${'🙂'.repeat(93)} (copy)`],
  ])('%s', (title, expected) => expect(copyTitle(title)).toBe(expected));
});

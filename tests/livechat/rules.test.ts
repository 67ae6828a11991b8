import { describe, expect, it } from 'vitest';
import { chooseOperator, cleanChatBody, isColor, parseChatCommand, satisfactionOf, transcriptOf, type OperatorCandidate } from '../../src/livechat/rules.js';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute));
const op = (agentId: number, openSessions: number, languages: string[] = [], lastActiveAt: Date | null = null): OperatorCandidate => ({
  agentId,
  openSessions,
  languages,
  lastActiveAt,
});

describe('chooseOperator', () => {
  it.each([
    ['nobody online', [], { previousOperatorId: null, language: null }, null],
    ['the previous operator first, even when busier', [op(1, 0), op(2, 3)], { previousOperatorId: 2, language: null }, 2],
    ['previous operator not among candidates: normal rules', [op(1, 2), op(3, 1)], { previousOperatorId: 2, language: null }, 3],
    ['language before load', [op(1, 0, ['en']), op(2, 2, ['fr'])], { previousOperatorId: null, language: 'fr' }, 2],
    ['language matched on its base subtag', [op(1, 0, ['en']), op(2, 2, ['fr-FR'])], { previousOperatorId: null, language: 'fr-BE' }, 2],
    ['nobody speaks it: everyone qualifies', [op(1, 1, ['en']), op(2, 0, ['de'])], { previousOperatorId: null, language: 'ja' }, 2],
    ['fewest open sessions among speakers', [op(1, 2, ['fr']), op(2, 1, ['fr']), op(3, 0, ['en'])], { previousOperatorId: null, language: 'fr' }, 2],
    ['fewest open sessions', [op(1, 3), op(2, 1), op(3, 2)], { previousOperatorId: null, language: null }, 2],
    ['tie: idle longest', [op(1, 1, [], at(30)), op(2, 1, [], at(10)), op(3, 1, [], at(20))], { previousOperatorId: null, language: null }, 2],
    ['tie: never assigned counts as idle longest', [op(1, 1, [], at(10)), op(2, 1, [], null)], { previousOperatorId: null, language: null }, 2],
    ['full tie: lowest id', [op(5, 0), op(4, 0)], { previousOperatorId: null, language: null }, 4],
  ] as const)('%s', (_name, candidates, wish, expected) => {
    expect(chooseOperator(candidates as unknown as OperatorCandidate[], wish)).toBe(expected);
  });
});

describe('cleanChatBody', () => {
  it.each([
    ['plain', 'hello', 'hello'],
    ['keeps tab, CR, LF', 'a\tb\r\nc', 'a\tb\r\nc'],
    ['drops NUL, bell, escape, DEL and C1', 'a\u0000b\u0007c\u001bd\u007fe\u0085f', 'abcdef'],
    ['leaves markup alone', '<b>hi</b> & bye', '<b>hi</b> & bye'],
  ])('%s', (_name, input, expected) => expect(cleanChatBody(input)).toBe(expected));
});

describe('isColor', () => {
  it.each([
    ['#875A7B', true],
    ['#ffffff', true],
    ['#FFF', false],
    ['875A7B', false],
    ['#GG0000', false],
    ['#875A7B ', false],
  ])('%s → %s', (value, expected) => expect(isColor(value)).toBe(expected));
});

describe('parseChatCommand', () => {
  it.each([
    ['ordinary text', 'hello /helpdesk', null],
    ['helpdesk with a title', '/helpdesk Printer  on fire', { kind: 'CREATE_TICKET', title: 'Printer on fire' }],
    ['ticket alias, no title', '/ticket', { kind: 'CREATE_TICKET', title: '' }],
    ['search', '/helpdesk_search printer fire', { kind: 'SEARCH_TICKETS', words: ['printer', 'fire'] }],
    ['search alias', '/search_tickets  printer', { kind: 'SEARCH_TICKETS', words: ['printer'] }],
    ['unknown', '/shrug', { kind: 'UNKNOWN', name: 'shrug' }],
    ['a path is not a command', '/usr/bin', null],
  ])('%s', (_name, body, expected) => expect(parseChatCommand(body)).toEqual(expected));
});

describe('satisfactionOf', () => {
  it.each([
    [{ satisfied: 0, okay: 0, dissatisfied: 0 }, null, 0],
    [{ satisfied: 3, okay: 1, dissatisfied: 0 }, 75, 4],
    [{ satisfied: 1, okay: 1, dissatisfied: 1 }, 33.3, 3],
  ])('%o → %s%%', (counts, percent, rated) => expect(satisfactionOf(counts)).toEqual({ ...counts, percent, rated }));
});

describe('transcriptOf', () => {
  it('writes one "Author: text" line per message', () => {
    expect(transcriptOf([{ authorName: 'Ann', body: 'Hi' }, { authorName: 'Bob', body: 'Hello' }])).toBe('Ann: Hi\nBob: Hello');
  });
});

import { describe, expect, it } from 'vitest';
import { chatbotConditionHolds, chooseRule, countryCode, resolveRuleChatbot, normalizeOrigin, patternMatches, patternProblem, resolveRuleAction, type VisitRule } from '../../src/livechat/widget-rules.js';

let nextId = 1;
const rule = (urlPattern: string, action: VisitRule['action'], sequence: number, countries: string[] = [], autoPopupSeconds = 0): VisitRule => ({
  id: nextId++,
  urlPattern,
  action,
  sequence,
  countries,
  autoPopupSeconds,
});

const pricingHide = rule('/pricing', 'HIDE_BUTTON', 10);
const pricingBelgium = rule('/pricing', 'AUTO_POPUP', 20, ['BE'], 5);
const everywhereText = rule('', 'DISPLAY_BUTTON_AND_TEXT', 30);
const everywhereFrance = rule('', 'AUTO_POPUP', 40, ['FR', 'BE'], 2);
const docsFirst = rule('docs\\.example\\.com', 'DISPLAY_BUTTON', 5);
const docsSame = rule('docs\\.example\\.com', 'HIDE_BUTTON', 5);
const rules = [everywhereFrance, everywhereText, pricingBelgium, pricingHide, docsSame, docsFirst];

describe('chooseRule', () => {
  it.each([
    ['no rule at all', [], 'https://shop.test/', 'BE', null],
    ['country rule before a lower sequence without country', rules, 'https://shop.test/pricing', 'BE', pricingBelgium],
    ['no country known: rules without countries only', rules, 'https://shop.test/pricing', null, pricingHide],
    ['other country: its rules never apply', rules, 'https://shop.test/pricing', 'DE', pricingHide],
    ['empty pattern matches every page', rules, 'https://shop.test/about', 'DE', everywhereText],
    ['empty pattern with country', rules, 'https://shop.test/about', 'FR', everywhereFrance],
    ['country given in lower case', rules, 'https://shop.test/about', 'fr', everywhereFrance],
    ['equal sequences: the older rule', rules, 'https://docs.example.com/x', null, docsFirst],
    ['searched anywhere in the URL', [pricingHide], 'https://shop.test/en/pricing?plan=pro', null, pricingHide],
    ['no match', [pricingHide, pricingBelgium], 'https://shop.test/about', 'BE', null],
    ['unknown page: only empty patterns', rules, null, null, everywhereText],
    ['lowest sequence among country rules', [everywhereFrance, pricingBelgium], 'https://shop.test/pricing', 'BE', pricingBelgium],
  ] as const)('%s', (_name, list, pageUrl, country, expected) => {
    expect(chooseRule(list as readonly VisitRule[], { pageUrl, country })).toBe(expected);
  });

  it('falls back to DISPLAY_BUTTON, and keeps the timer only for AUTO_POPUP', () => {
    expect(resolveRuleAction([], { pageUrl: 'https://x.test/', country: null })).toEqual({ action: 'DISPLAY_BUTTON', autoPopupSeconds: 0 });
    expect(resolveRuleAction([pricingBelgium], { pageUrl: 'https://x.test/pricing', country: 'BE' })).toEqual({ action: 'AUTO_POPUP', autoPopupSeconds: 5 });
    expect(resolveRuleAction([rule('', 'HIDE_BUTTON', 1, [], 9)], { pageUrl: 'https://x.test/', country: null })).toEqual({ action: 'HIDE_BUTTON', autoPopupSeconds: 0 });
  });
});

describe('patterns', () => {
  it('runs a catastrophic pattern for backtracking engines in linear time', () => {
    const url = `${'a'.repeat(50_000)}b`;
    const started = performance.now();
    expect(patternMatches('(a+)+$', url)).toBe(false);
    expect(patternMatches('(a|aa)+c', url)).toBe(false);
    // A backtracking engine needs about 2^50000 steps here; RE2 a few million at most.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['ab(c', 'missing closing )', 5],
    ['a**', 'invalid nested repetition operator', 2],
    ['x[z-a]', 'invalid character class range', 3],
    ['(?<=a)b', 'invalid', 1],
  ])('refuses %s, naming where', (pattern, what, position) => {
    const problem = patternProblem(pattern);
    expect(problem).toContain(what);
    expect(problem).toContain(`at character ${position}`);
  });

  it('accepts RE2 patterns and caps their length', () => {
    expect(patternProblem('')).toBeNull();
    expect(patternProblem('^https://shop\\.test/(fr|nl)/')).toBeNull();
    expect(patternProblem('a'.repeat(501))).toContain('at most 500');
  });
});

describe('countries and origins', () => {
  it.each([
    ['BE', 'BE'],
    [' fr ', 'FR'],
    ['XX', null],
    ['BEL', null],
    ['', null],
    ['UK', null],
  ])('countryCode(%j)', (value, expected) => expect(countryCode(value)).toBe(expected));

  it.each([
    ['https://shop.example.com', 'https://shop.example.com'],
    ['HTTPS://Shop.Example.com:443', 'https://shop.example.com'],
    ['http://localhost:8080', 'http://localhost:8080'],
    ['https://shop.example.com/', null],
    ['https://shop.example.com/path', null],
    ['shop.example.com', null],
    ['ftp://shop.example.com', null],
    ['https://user@shop.example.com', null],
    ['*', null],
  ])('normalizeOrigin(%j)', (value, expected) => expect(normalizeOrigin(value)).toBe(expected));
});

describe('the chatbot of a visit', () => {
  const withBot = { ...rule('/help', 'DISPLAY_BUTTON', 1), chatbotScriptId: 7, chatbotCondition: 'ONLY_IF_NO_OPERATOR' as const };
  const botEverywhere = { ...rule('', 'DISPLAY_BUTTON', 20), chatbotScriptId: 8 };
  const noBot = rule('/plain', 'DISPLAY_BUTTON', 5);
  it.each([
    ['the applicable rule attaches a script', 'https://x.test/help', { scriptId: 7, condition: 'ONLY_IF_NO_OPERATOR' }],
    ['the applicable rule attaches none, though a later one does', 'https://x.test/plain', null],
    ['a rule without a condition: ALWAYS', 'https://x.test/about', { scriptId: 8, condition: 'ALWAYS' }],
  ] as const)('%s', (_name, pageUrl, expected) => {
    expect(resolveRuleChatbot([withBot, botEverywhere, noBot], { pageUrl, country: null })).toEqual(expected);
  });
  it('no rule applies: no bot', () => expect(resolveRuleChatbot([withBot], { pageUrl: 'https://x.test/', country: null })).toBeNull());

  it.each([
    ['ALWAYS', true, true],
    ['ALWAYS', false, true],
    ['ONLY_IF_NO_OPERATOR', true, false],
    ['ONLY_IF_NO_OPERATOR', false, true],
    ['ONLY_IF_OPERATOR', true, true],
    ['ONLY_IF_OPERATOR', false, false],
  ] as const)('%s with an operator available: %s → %s', (condition, available, expected) => {
    expect(chatbotConditionHolds(condition, available)).toBe(expected);
  });
});

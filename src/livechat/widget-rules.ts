import { RE2JS } from 're2js';
import { isLongerThan } from '../text/clean.js';

/**
 * Pure rules of the chat widget: which channel rule applies to a visit, and the checks of what
 * a channel's operators write into rules and allowed origins. No I/O: table-driven tests.
 */

export type LiveChatRuleAction = 'DISPLAY_BUTTON' | 'DISPLAY_BUTTON_AND_TEXT' | 'AUTO_POPUP' | 'HIDE_BUTTON';
export const RULE_ACTIONS: readonly LiveChatRuleAction[] = ['DISPLAY_BUTTON', 'DISPLAY_BUTTON_AND_TEXT', 'AUTO_POPUP', 'HIDE_BUTTON'];
export type LiveChatOfflineBehavior = 'LEAVE_MESSAGE' | 'HIDE';
export type ChatbotCondition = 'ALWAYS' | 'ONLY_IF_NO_OPERATOR' | 'ONLY_IF_OPERATOR';
export const CHATBOT_CONDITIONS: readonly ChatbotCondition[] = ['ALWAYS', 'ONLY_IF_NO_OPERATOR', 'ONLY_IF_OPERATOR'];

export interface VisitRule {
  id: number;
  urlPattern: string;
  action: LiveChatRuleAction;
  autoPopupSeconds: number;
  countries: readonly string[];
  sequence: number;
  /** The chatbot script the rule attaches, or null. */
  chatbotScriptId?: number | null;
  chatbotCondition?: ChatbotCondition;
}

export interface Visit {
  pageUrl: string | null;
  /** ISO 3166-1 alpha-2, upper case; null when unknown. */
  country: string | null;
}

/**
 * Whether a visitor of this rule reaches someone whatever the operators do: a bot that runs when
 * nobody is there (ALWAYS, ONLY_IF_NO_OPERATOR). An ONLY_IF_OPERATOR bot adds nothing to
 * availability: it runs only when an operator would answer anyway.
 */
export function chatbotKeepsAvailable(rule: { chatbotScriptId?: number | null; chatbotCondition?: ChatbotCondition } | null): boolean {
  return rule?.chatbotScriptId != null && rule.chatbotCondition !== 'ONLY_IF_OPERATOR';
}

/** What the widget does on a page when no rule matches. */
export const DEFAULT_RULE_ACTION: { action: LiveChatRuleAction; autoPopupSeconds: number } = { action: 'DISPLAY_BUTTON', autoPopupSeconds: 0 };

/** Patterns longer than this are refused on save: they are meant for URLs, not programs. */
export const MAX_PATTERN_LENGTH = 500;
export const MAX_AUTO_POPUP_SECONDS = 3600;
export const MAX_RULES_PER_CHANNEL = 100;

const compiled = new Map<string, RE2JS>();

/**
 * The pattern on RE2 (re2js): matching time is linear in the URL's length whatever the pattern,
 * so an operator's `(a+)+$` cannot stall the server as it would a backtracking engine.
 * Compiled patterns are kept, bounded: rules are few and read on every widget load.
 */
function compiledPattern(pattern: string): RE2JS {
  let regex = compiled.get(pattern);
  if (!regex) {
    regex = RE2JS.compile(pattern);
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

/** Whether the pattern is found anywhere in the URL (an empty pattern matches every page, even an unknown one). */
export function patternMatches(pattern: string, pageUrl: string | null): boolean {
  if (pattern === '') return true;
  if (pageUrl === null) return false;
  return compiledPattern(pattern).matcher(pageUrl).find();
}

/**
 * The rule of a visit: among the rules whose pattern matches the page URL, those listing the
 * visitor's country first, then those listing no country, each by ascending sequence (ties by
 * id, the older first). Rules listing other countries never apply. Null: no rule applies.
 */
export function chooseRule<R extends VisitRule>(rules: readonly R[], visit: Visit): R | null {
  const country = visit.country?.toUpperCase() ?? null;
  const bySequence = (a: R, b: R) => a.sequence - b.sequence || a.id - b.id;
  const matching = rules.filter((rule) => patternMatches(rule.urlPattern, visit.pageUrl));
  const forCountry = country === null ? [] : matching.filter((rule) => rule.countries.includes(country)).sort(bySequence);
  const forAll = matching.filter((rule) => rule.countries.length === 0).sort(bySequence);
  return forCountry[0] ?? forAll[0] ?? null;
}

/** The action and timer of a visit: the chosen rule's, or DISPLAY_BUTTON when none applies. */
export function resolveRuleAction(rules: readonly VisitRule[], visit: Visit): { action: LiveChatRuleAction; autoPopupSeconds: number } {
  const rule = chooseRule(rules, visit);
  if (!rule) return DEFAULT_RULE_ACTION;
  return { action: rule.action, autoPopupSeconds: rule.action === 'AUTO_POPUP' ? rule.autoPopupSeconds : 0 };
}

/** The chatbot of a visit: the script the visit's rule attaches and its condition; null when the rule attaches none (or no rule applies). */
export function resolveRuleChatbot(rules: readonly VisitRule[], visit: Visit): { scriptId: number; condition: ChatbotCondition } | null {
  const rule = chooseRule(rules, visit);
  if (!rule || rule.chatbotScriptId == null) return null;
  return { scriptId: rule.chatbotScriptId, condition: rule.chatbotCondition ?? 'ALWAYS' };
}

/** Whether the bot runs given whether an operator is available (online with room or a line to wait in, as the runtime counts it). */
export function chatbotConditionHolds(condition: ChatbotCondition, operatorAvailable: boolean): boolean {
  return condition === 'ALWAYS' || (condition === 'ONLY_IF_NO_OPERATOR') !== operatorAvailable;
}

/** Why a pattern is refused (naming the 1-based character where RE2 stopped), or null when it is fine. */
export function patternProblem(pattern: string): string | null {
  if (isLongerThan(pattern, MAX_PATTERN_LENGTH)) return `urlPattern must be at most ${MAX_PATTERN_LENGTH} characters.`;
  try {
    compiledPattern(pattern);
    return null;
  } catch (err) {
    const error = err as { error?: string; input?: string; message?: string };
    const what = error.error ?? error.message ?? 'invalid pattern';
    // RE2 names the fragment it stopped at; an unclosed group is reported at the pattern's end.
    const found = error.input ? pattern.indexOf(error.input) : -1;
    const position = /missing closing|missing argument|trailing backslash/.test(what) || found < 0 ? pattern.length : found;
    return `urlPattern is not a valid regular expression (RE2 syntax): ${what} at character ${position + 1}${error.input ? ` (near "${error.input.slice(0, 40)}")` : ''}.`;
  }
}

// ISO 3166-1 alpha-2: the officially assigned codes.
const COUNTRY_CODES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
    'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG ' +
    'UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

/** An assigned ISO 3166-1 alpha-2 code, in upper case, or null. */
export function countryCode(value: string | null | undefined): string | null {
  const code = value?.trim().toUpperCase() ?? '';
  return COUNTRY_CODES.has(code) ? code : null;
}

/**
 * An allowed origin as browsers send it in `Origin`: `scheme://host[:port]`, http(s), nothing
 * after the host, lower case, the scheme's default port left out; null when it is not one.
 */
export function normalizeOrigin(value: string): string | null {
  const trimmed = value.trim();
  if (!/^https?:\/\/[^/?#@\s]+$/i.test(trimmed)) return null;
  try {
    const url = new URL(trimmed);
    return url.origin === 'null' ? null : url.origin;
  } catch {
    return null;
  }
}

/** Whether a browser page of this origin may use the channel: any when none is listed. */
export function originAllowed(allowedOrigins: readonly string[], origin: string): boolean {
  return allowedOrigins.length === 0 || allowedOrigins.includes(origin);
}

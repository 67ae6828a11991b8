/** Pure rules of live chat: no I/O here, so each is tested with a table of cases. */

import { cleanTypedText } from '../text/clean.js';

export interface OperatorCandidate {
  agentId: number;
  languages: string[];
  openSessions: number;
  /** The operator's latest chat activity (an assignment or a message sent); null when none. */
  lastActiveAt: Date | null;
}

export interface AssignmentWish {
  /** The operator of the visitor's earlier session, when the visitor came back. */
  previousOperatorId: number | null;
  /** The visitor's language, e.g. "fr" or "fr-BE". */
  language: string | null;
}

/** The primary subtag, lower case: "fr-BE" → "fr". */
export function baseLanguage(tag: string): string {
  return tag.trim().toLowerCase().split(/[-_]/)[0] ?? '';
}

/**
 * Picks the operator for a new session among those online with room: the visitor's previous
 * operator; else, among those speaking the visitor's language (all when none does), the one
 * with the fewest open sessions, then the one idle longest (whose latest assignment or message
 * is oldest; none counts as longest), then the lowest id so the choice is stable.
 */
export function chooseOperator(candidates: readonly OperatorCandidate[], wish: AssignmentWish): number | null {
  if (candidates.length === 0) return null;
  const previous = candidates.find((c) => c.agentId === wish.previousOperatorId);
  if (previous) return previous.agentId;
  const language = wish.language ? baseLanguage(wish.language) : '';
  const speakers = language ? candidates.filter((c) => c.languages.some((l) => baseLanguage(l) === language)) : [];
  const pool = speakers.length > 0 ? speakers : candidates;
  const idleSince = (c: OperatorCandidate) => c.lastActiveAt?.getTime() ?? -Infinity;
  const [best] = [...pool].sort((a, b) => a.openSessions - b.openSessions || idleSince(a) - idleSince(b) || a.agentId - b.agentId);
  return best!.agentId;
}

/** Whether an operator under the channel's cap may take one more session (no cap: always). */
export function hasRoom(openSessions: number, cap: number | null): boolean {
  return cap === null || openSessions < cap;
}

/** A chat message body as stored: control characters other than tab, CR and LF, and bidirectional overrides, removed. */
export function cleanChatBody(body: string): string {
  return cleanTypedText(body);
}

const COLOR = /^#[0-9A-Fa-f]{6}$/;

export function isColor(value: string): boolean {
  return COLOR.test(value);
}

export const CHANNEL_DEFAULTS = {
  buttonText: 'Have a Question? Chat with us.',
  welcomeMessage: 'How may I help you?',
  inputPlaceholder: 'Say something...',
  headerBackgroundColor: '#875A7B',
  titleColor: '#FFFFFF',
  buttonBackgroundColor: '#875A7B',
  buttonTextColor: '#FFFFFF',
} as const;

export type ChatCommand =
  | { kind: 'CREATE_TICKET'; title: string }
  | { kind: 'SEARCH_TICKETS'; words: string[] }
  | { kind: 'UNKNOWN'; name: string };

export const COMMAND_HELP = [
  '/helpdesk <title> (or /ticket): create a ticket in this team from the conversation',
  '/helpdesk_search <words> (or /search_tickets): find tickets of this team by title or tag',
];

/** Reads an operator's message as a command, or null when it is ordinary text. */
export function parseChatCommand(body: string): ChatCommand | null {
  const match = /^\/([A-Za-z_]+)(?:\s+([\s\S]*))?$/.exec(body.trim());
  if (!match) return null;
  const name = match[1]!.toLowerCase();
  const rest = (match[2] ?? '').trim();
  if (name === 'helpdesk' || name === 'ticket') return { kind: 'CREATE_TICKET', title: rest.replace(/\s+/g, ' ') };
  if (name === 'helpdesk_search' || name === 'search_tickets') return { kind: 'SEARCH_TICKETS', words: rest.split(/\s+/).filter(Boolean) };
  return { kind: 'UNKNOWN', name };
}

export interface TranscriptLine {
  authorName: string;
  body: string;
}

/** "Author: text" per message, in order. */
export function transcriptOf(lines: readonly TranscriptLine[]): string {
  return lines.map((l) => `${l.authorName}: ${l.body}`).join('\n');
}

export type RatingValue = 'SATISFIED' | 'OKAY' | 'DISSATISFIED';

export interface Satisfaction {
  percent: number | null;
  rated: number;
  satisfied: number;
  okay: number;
  dissatisfied: number;
}

/** Share of SATISFIED among rated sessions, in percent rounded to one decimal; null when none was rated. */
export function satisfactionOf(counts: { satisfied: number; okay: number; dissatisfied: number }): Satisfaction {
  const rated = counts.satisfied + counts.okay + counts.dissatisfied;
  return { ...counts, rated, percent: rated === 0 ? null : Math.round((counts.satisfied / rated) * 1000) / 10 };
}

import { isLongerThan } from './text/clean.js';

/**
 * Every code a userError can carry, with what it means: the one list clients can rely on. The
 * UserError.code description prints it, and services can emit no other code: fail(),
 * ErrorCollector.add() and UserErrorShape take a UserErrorCode.
 */
export const USER_ERROR_CODES = {
  REQUIRED: 'A required value is missing or blank.',
  TOO_LONG: 'A text is longer than the field allows.',
  TOO_MANY: 'A list has more items than allowed.',
  INVALID_TEXT: 'A text holds a NUL character or an unpaired UTF-16 surrogate, or is outside its length limits.',
  INVALID_ID: 'An ID is not the global ID of an object of the expected type (or a client-chosen id is empty or too long).',
  INVALID_CURSOR: 'A cursor is not one this list gave out.',
  INVALID_VALUE: 'A value is not one the field accepts (an unknown kind, a time that is not a time).',
  NOT_FOUND: 'No object has this ID (any more).',
  INVALID_EMAIL: 'Not an email address.',
  TAKEN: 'Another object already has this unique value (an agent email).',
  INVALID_PRIORITY: 'A priority outside LOW…URGENT.',
  STAGE_OF_OTHER_TEAM: 'The stage belongs to another team than the ticket or policy.',
  INVALID_ORDER: 'A new stage order does not list every stage of the team exactly once.',
  INVALID_ALIAS: 'A mail alias that is not a valid local part.',
  UNKNOWN_DOMAIN: 'A mail alias on a domain this server does not receive mail for.',
  ALIAS_TAKEN: 'Another team already uses this mail alias.',
  INVALID_DOMAIN: 'Not a host name.',
  DEFAULT_DOMAIN: 'MAIL_DOMAIN comes from the configuration and cannot be removed.',
  DOMAIN_IN_USE: 'A team alias still uses the mail domain.',
  INVALID_TIMEZONE: 'Not an IANA time zone.',
  INVALID_WEEKDAY: 'A weekday outside 1 (Monday) … 7 (Sunday).',
  INVALID_INTERVAL: 'A working interval whose times are not "HH:MM" with the end after the start.',
  INVALID_DATE: 'Not a calendar date "YYYY-MM-DD".',
  INVALID_HOURS: 'SLA hours outside (0, 100000].',
  ALREADY_PROCESSED: 'Only QUARANTINED or IGNORED mail can be reprocessed.',
  NOTHING_TO_REPROCESS: 'The raw message or the team of a kept mail is gone.',
  INVALID_KEY: 'A form field key that is not 1–40 lower-case letters, digits or _; a chatbot step or answer key that is not 1–64 characters.',
  DUPLICATE_KEY: 'Two form fields share a key, or two steps or answers of a chatbot script.',
  INVALID_LABEL: 'A form field label outside 1–200 characters.',
  DUPLICATE_MAPPING: 'Two form fields map to the same part of the ticket.',
  MISSING_MAPPING: 'A form lacks a required, always visible field for a part every ticket needs.',
  OPTIONS_REQUIRED: 'A SELECT form field without options.',
  CONDITION_REQUIRED: 'A CONDITIONAL form field without a condition.',
  INVALID_CONDITION: 'A form field condition that does not refer to an earlier field; a chatbot step condition naming no answer of an earlier QUESTION_SELECTION step.',
  FORM_NOT_PUBLISHED: 'The form is not published, or its team has the website channel off.',
  INVALID_FORMAT: 'A form answer that does not fit its field (an email, a number, a date, a choice …).',
  FILE_TOO_LARGE: 'An uploaded file is larger than 10 MB.',
  FILE_TYPE: 'An uploaded file is not an image, a PDF or a text file.',
  REJECTED: 'The submission was refused as automated.',
  RATE_LIMITED: 'Too many submissions, chats or chat messages from this client or session: try again later.',
  FORBIDDEN: 'The caller may not do this to this object (an operator-only chat message from a visitor, a transfer by another operator).',
  INVALID_COLOR: 'A colour not written #RRGGBB.',
  INVALID_NUMBER: 'A number outside its allowed range.',
  INVALID_LANGUAGE: 'Not a language tag such as "en" or "fr-BE", or too many of them.',
  INVALID_URL: 'Not an http(s) address, or too long.',
  NOT_AN_AGENT: 'Only a token bound to an agent can do this.',
  NOT_AN_OPERATOR: 'The agent is not an operator of the live chat channel.',
  OPERATOR_OFFLINE: 'The operator is not online.',
  CHANNEL_UNAVAILABLE: "Live chat is switched off for the team.",
  NO_OPERATOR_AVAILABLE: 'No operator of the channel is online: leave a message instead.',
  SESSION_CLOSED: 'The chat session is closed.',
  SESSION_OPEN: 'The chat session is still open: it is rated once closed.',
  ALREADY_RATED: 'The chat session was already rated: a rating is given once.',
  TOO_MANY_OPEN_SESSIONS: 'This client address (an IPv6 /64) already holds LIVECHAT_OPEN_SESSIONS_PER_ADDRESS open or waiting chats.',
  INVALID_PATTERN: 'A live chat rule URL pattern that is not an RE2 regular expression (the message says where), or too long.',
  INVALID_COUNTRY: 'Not an ISO 3166-1 alpha-2 country code such as "BE".',
  SCRIPT_IN_USE: 'A live chat rule attaches the chatbot script: detach it before deleting the script.',
  NOT_FAILED: 'Only a FAILED outbound mail can be sent again.',
} as const satisfies Record<string, string>;

export type UserErrorCode = keyof typeof USER_ERROR_CODES;

/** A problem the caller can fix: which input field, what is wrong, and a stable code. */
export interface UserErrorShape {
  field: string[] | null;
  message: string;
  code: UserErrorCode;
  /** RATE_LIMITED only: whole seconds until the same call is accepted again. */
  retryAfterSeconds?: number | null;
}

/** Thrown by services for expected failures; transports turn it into userErrors, 4xx/5xx replies or form messages. */
export class UserInputError extends Error {
  constructor(readonly errors: UserErrorShape[]) {
    super(errors.map((e) => e.message).join(' '));
    this.name = 'UserInputError';
  }
}

/** RATE_LIMITED, saying when to retry (in the message and in retryAfterSeconds). */
export function failRateLimited(field: string | string[] | null, retryAfterSeconds: number): never {
  throw new UserInputError([
    { field: field === null ? null : Array.isArray(field) ? field : [field], code: 'RATE_LIMITED', message: `Too many requests: retry in ${retryAfterSeconds} seconds.`, retryAfterSeconds },
  ]);
}

export function fail(field: string | string[] | null, code: UserErrorCode, message: string): never {
  throw new UserInputError([{ field: field === null ? null : Array.isArray(field) ? field : [field], code, message }]);
}

/** Collects several problems so the caller sees all of them at once. */
export class ErrorCollector {
  readonly errors: UserErrorShape[] = [];
  add(field: string | string[] | null, code: UserErrorCode, message: string): void {
    this.errors.push({ field: field === null ? null : Array.isArray(field) ? field : [field], code, message });
  }
  throwIfAny(): void {
    if (this.errors.length > 0) throw new UserInputError(this.errors);
  }
}

/** Trims a required text input and checks its length in code points. */
export function requiredText(errors: ErrorCollector, field: string, value: string | null | undefined, max: number): string {
  const text = (value ?? '').trim();
  if (text === '') errors.add(field, 'REQUIRED', `${field} is required.`);
  else if (isLongerThan(text, max)) errors.add(field, 'TOO_LONG', `${field} must be at most ${max} characters.`);
  return text;
}

export function optionalText(errors: ErrorCollector, field: string, value: string | null | undefined, max: number): string {
  const text = value ?? '';
  if (isLongerThan(text, max)) errors.add(field, 'TOO_LONG', `${field} must be at most ${max} characters.`);
  return text;
}

/** PostgreSQL unique_violation on the named constraint or index. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  let e: any = error;
  while (e) {
    if (e.code === '23505' && (e.constraint_name === constraint || e.constraint === constraint)) return true;
    e = e.cause;
  }
  return false;
}

/** The userError for API text holding a NUL or an unpaired surrogate: refused, not cleaned (src/text/clean.ts says why). */
export function unstorableTextError(field: string[]): UserErrorShape {
  return {
    field,
    code: 'INVALID_TEXT',
    message: `${field.at(-1)} contains a NUL character or an unpaired UTF-16 surrogate: send it as valid Unicode text without NUL.`,
  };
}

/**
 * The website form as data: its fields, the rules a definition must follow, when a field is
 * shown, and what a submission must contain. Pure, so every rule is tested table by table and
 * the page, GraphQL and the service share one implementation.
 */
import type { UserErrorCode } from '../errors.js';
import { isInternetEmailAddress } from '../text/email-address.js';
import { cleanTypedText, isLongerThan } from '../text/clean.js';

export const MAPS_TO = ['TITLE', 'DESCRIPTION', 'CUSTOMER_NAME', 'CUSTOMER_EMAIL', 'CUSTOMER_PHONE', 'CUSTOMER_COMPANY', 'PRIORITY', 'CUSTOM'] as const;
export const INPUT_TYPES = ['TEXT', 'TEXTAREA', 'EMAIL', 'TEL', 'URL', 'NUMBER', 'DATE', 'SELECT', 'CHECKBOX', 'FILE'] as const;
export const LABEL_POSITIONS = ['TOP', 'LEFT', 'RIGHT', 'HIDDEN'] as const;
export const VISIBILITIES = ['ALWAYS', 'CONDITIONAL', 'HIDDEN'] as const;
export const OPERATORS = ['EQUALS', 'NOT_EQUALS', 'CONTAINS', 'IS_SET', 'IS_NOT_SET'] as const;
export const DEVICES = ['ALL', 'DESKTOP', 'MOBILE'] as const;

export type MapsTo = (typeof MAPS_TO)[number];
export type InputType = (typeof INPUT_TYPES)[number];

export interface FieldCondition {
  fieldKey: string;
  operator: (typeof OPERATORS)[number];
  value?: string | null;
}

export interface FormField {
  key: string;
  mapsTo: MapsTo;
  inputType: InputType;
  label: string;
  labelPosition: (typeof LABEL_POSITIONS)[number];
  description: string | null;
  placeholder: string | null;
  defaultValue: string | null;
  required: boolean;
  visibility: (typeof VISIBILITIES)[number];
  condition: FieldCondition | null;
  devices: (typeof DEVICES)[number];
  options: Array<{ value: string; label: string }>;
}

/** A field with the defaults of every optional attribute left out or null. */
export const formField = (
  f: { [K in keyof FormField]?: FormField[K] | null } & Pick<FormField, 'key' | 'mapsTo' | 'inputType' | 'label'>,
): FormField => ({
  key: f.key,
  mapsTo: f.mapsTo,
  inputType: f.inputType,
  label: f.label,
  labelPosition: f.labelPosition ?? 'TOP',
  description: f.description ?? null,
  placeholder: f.placeholder ?? null,
  defaultValue: f.defaultValue ?? null,
  required: f.required ?? false,
  visibility: f.visibility ?? 'ALWAYS',
  condition: f.condition ?? null,
  devices: f.devices ?? 'ALL',
  options: f.options ?? [],
});

/** The form a team gets when it switches the website form on. */
export const DEFAULT_FIELDS: FormField[] = [
  formField({ key: 'name', mapsTo: 'CUSTOMER_NAME', inputType: 'TEXT', label: 'Your name', required: true }),
  formField({ key: 'email', mapsTo: 'CUSTOMER_EMAIL', inputType: 'EMAIL', label: 'Your email', required: true }),
  formField({ key: 'phone', mapsTo: 'CUSTOMER_PHONE', inputType: 'TEL', label: 'Phone' }),
  formField({ key: 'subject', mapsTo: 'TITLE', inputType: 'TEXT', label: 'Subject', required: true }),
  formField({ key: 'description', mapsTo: 'DESCRIPTION', inputType: 'TEXTAREA', label: 'Description', required: true }),
];

export interface FormProblem {
  /** Path under the form input, e.g. ["fields", "2", "key"], or a field key for submissions. */
  field: string[];
  code: UserErrorCode;
  message: string;
}

const KEY = /^[a-z][a-z0-9_]{0,39}$/;
const SINGLE_USE: MapsTo[] = ['TITLE', 'DESCRIPTION', 'CUSTOMER_NAME', 'CUSTOMER_EMAIL', 'CUSTOMER_PHONE', 'CUSTOMER_COMPANY', 'PRIORITY'];

/** Rules of a form definition: keys unique and well-formed, conditions on earlier fields, options for SELECT. */
export function validateFormDefinition(fields: FormField[]): FormProblem[] {
  const problems: FormProblem[] = [];
  const at = (i: number, name: string) => ['fields', String(i), name];
  const seen = new Set<string>();
  if (fields.length === 0) problems.push({ field: ['fields'], code: 'REQUIRED', message: 'A form needs at least one field.' });
  if (fields.length > 50) problems.push({ field: ['fields'], code: 'TOO_MANY', message: 'A form has at most 50 fields.' });
  fields.forEach((f, i) => {
    if (!KEY.test(f.key)) problems.push({ field: at(i, 'key'), code: 'INVALID_KEY', message: 'key must be 1–40 lower-case letters, digits or _, starting with a letter.' });
    else if (seen.has(f.key)) problems.push({ field: at(i, 'key'), code: 'DUPLICATE_KEY', message: `Another field already has the key "${f.key}".` });
    seen.add(f.key);
    if (!f.label.trim() || isLongerThan(f.label, 200)) problems.push({ field: at(i, 'label'), code: 'INVALID_LABEL', message: 'label must be 1–200 characters.' });
    if (SINGLE_USE.includes(f.mapsTo) && fields.findIndex((g) => g.mapsTo === f.mapsTo) !== i) {
      problems.push({ field: at(i, 'mapsTo'), code: 'DUPLICATE_MAPPING', message: `Only one field can map to ${f.mapsTo}.` });
    }
    if (f.inputType === 'SELECT' && f.options.length === 0) problems.push({ field: at(i, 'options'), code: 'OPTIONS_REQUIRED', message: 'A SELECT field needs options.' });
    if (f.options.length > 100) problems.push({ field: at(i, 'options'), code: 'TOO_MANY', message: 'At most 100 options.' });
    if (f.visibility === 'CONDITIONAL') {
      const target = f.condition ? fields.findIndex((g) => g.key === f.condition!.fieldKey) : -1;
      if (!f.condition) problems.push({ field: at(i, 'condition'), code: 'CONDITION_REQUIRED', message: 'A CONDITIONAL field needs a condition.' });
      else if (target === -1 || target >= i) {
        problems.push({ field: at(i, 'condition'), code: 'INVALID_CONDITION', message: 'A condition must refer to an earlier field of the form.' });
      }
    }
  });
  for (const needed of ['TITLE', 'CUSTOMER_EMAIL'] as const) {
    if (!fields.some((f) => f.mapsTo === needed && f.required && f.visibility === 'ALWAYS')) {
      problems.push({ field: ['fields'], code: 'MISSING_MAPPING', message: `The form needs a required, always visible field mapped to ${needed}.` });
    }
  }
  return problems;
}

/** Whether a field is shown, given the values entered so far. */
export function isVisible(f: FormField, values: Record<string, string>, fields: FormField[]): boolean {
  if (f.visibility === 'HIDDEN') return false;
  if (f.visibility === 'ALWAYS' || !f.condition) return true;
  const target = fields.find((g) => g.key === f.condition!.fieldKey);
  if (target && !isVisible(target, values, fields)) return false;
  const value = (values[f.condition.fieldKey] ?? '').trim();
  const expected = (f.condition.value ?? '').trim();
  switch (f.condition.operator) {
    case 'EQUALS':
      return value === expected;
    case 'NOT_EQUALS':
      return value !== expected;
    case 'CONTAINS':
      return value.toLowerCase().includes(expected.toLowerCase());
    case 'IS_SET':
      return value !== '';
    case 'IS_NOT_SET':
      return value === '';
  }
}

const PRIORITY_VALUES: Record<string, number> = { LOW: 0, MEDIUM: 1, HIGH: 2, URGENT: 3, '0': 0, '1': 1, '2': 2, '3': 3 };
const TEL = /^\+?[0-9][0-9 ().\-/]{4,29}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function maxLength(f: FormField): number {
  if (f.mapsTo === 'TITLE') return 300;
  if (f.mapsTo === 'DESCRIPTION' || f.inputType === 'TEXTAREA') return 20_000;
  return 500;
}

/** A value's format problem for its input type, or null. */
export function formatProblem(f: FormField, value: string): string | null {
  switch (f.inputType) {
    case 'EMAIL':
      return isInternetEmailAddress(value) ? null : 'Enter an email address such as jane@example.com.';
    case 'TEL':
      return TEL.test(value) ? null : 'Enter a phone number: digits, spaces and + ( ) - only.';
    case 'URL':
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol) ? null : 'Enter a web address starting with http:// or https://.';
      } catch {
        return 'Enter a web address starting with http:// or https://.';
      }
    case 'NUMBER':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? null : 'Enter a number.';
    case 'DATE': {
      const m = DATE.exec(value);
      const ok = m && new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!)).toISOString().slice(0, 10) === value;
      return ok ? null : 'Enter a date as YYYY-MM-DD.';
    }
    case 'SELECT':
      return f.options.some((o) => o.value === value) ? null : 'Choose one of the options.';
    case 'CHECKBOX':
      return ['on', 'true', 'yes', '1'].includes(value.toLowerCase()) ? null : 'Tick the box or leave it empty.';
    default:
      return null;
  }
}

export interface SubmittedTicket {
  title: string;
  description: string;
  customerName: string | null;
  customerEmail: string;
  customerPhone: string | null;
  customerCompany: string | null;
  priority: number;
  /** CUSTOM answers, in form order, with their labels. */
  custom: Array<{ key: string; label: string; value: string }>;
}

/**
 * Checks a submission against the form, whatever the browser did: required fields (only when
 * visible under their condition), formats, options and lengths. Hidden fields take their default.
 * What people typed is cleaned as chat text is (no control characters, no bidirectional overrides).
 */
export function validateSubmission(fields: FormField[], submitted: Record<string, string>): { problems: FormProblem[]; ticket: SubmittedTicket | null } {
  const values: Record<string, string> = {};
  for (const f of fields) values[f.key] = f.visibility === 'HIDDEN' ? (f.defaultValue ?? '') : cleanTypedText(submitted[f.key] ?? '').trim();
  const problems: FormProblem[] = [];
  const ticket: SubmittedTicket = { title: '', description: '', customerName: null, customerEmail: '', customerPhone: null, customerCompany: null, priority: 0, custom: [] };
  for (const f of fields) {
    if (f.inputType === 'FILE') continue; // files are checked where the upload is read
    if (f.visibility !== 'HIDDEN' && !isVisible(f, values, fields)) continue;
    const value = values[f.key]!;
    const problem = (code: UserErrorCode, message: string) => problems.push({ field: [f.key], code, message });
    if (value === '') {
      if (f.required) problem('REQUIRED', `${f.label} is required.`);
      continue;
    }
    if (isLongerThan(value, maxLength(f))) {
      problem('TOO_LONG', `${f.label} must be at most ${maxLength(f)} characters.`);
      continue;
    }
    const format = formatProblem(f, value);
    if (format) {
      problem('INVALID_FORMAT', format);
      continue;
    }
    switch (f.mapsTo) {
      case 'TITLE':
        ticket.title = value;
        break;
      case 'DESCRIPTION':
        ticket.description = value;
        break;
      case 'CUSTOMER_NAME':
        ticket.customerName = value;
        break;
      case 'CUSTOMER_EMAIL':
        if (!isInternetEmailAddress(value)) problem('INVALID_FORMAT', 'Enter an email address such as jane@example.com.');
        ticket.customerEmail = value;
        break;
      case 'CUSTOMER_PHONE':
        ticket.customerPhone = value;
        break;
      case 'CUSTOMER_COMPANY':
        ticket.customerCompany = value;
        break;
      case 'PRIORITY':
        if (PRIORITY_VALUES[value.toUpperCase()] === undefined) problem('INVALID_FORMAT', 'Choose a priority: LOW, MEDIUM, HIGH or URGENT.');
        else ticket.priority = PRIORITY_VALUES[value.toUpperCase()]!;
        break;
      case 'CUSTOM':
        ticket.custom.push({ key: f.key, label: f.label, value: f.inputType === 'CHECKBOX' ? 'yes' : f.inputType === 'SELECT' ? (f.options.find((o) => o.value === value)?.label ?? value) : value });
        break;
    }
  }
  return { problems, ticket: problems.length ? null : ticket };
}

/** The ticket description: what the customer wrote, then the other answers under "Other information". */
export function describeSubmission(ticket: SubmittedTicket): string {
  const extra = [
    ...(ticket.customerPhone ? [`Phone: ${ticket.customerPhone}`] : []),
    ...(ticket.customerCompany ? [`Company: ${ticket.customerCompany}`] : []),
    ...ticket.custom.map((c) => `${c.label}: ${c.value}`),
  ];
  return extra.length ? `${ticket.description}\n\nOther information\n${extra.join('\n')}`.trim() : ticket.description;
}

import { describe, expect, it } from 'vitest';
import { DEFAULT_FIELDS, describeSubmission, formField, isVisible, validateFormDefinition, validateSubmission, type FormField } from '../../src/webform/form.js';

const f = (over: Partial<FormField> & Pick<FormField, 'key'>): FormField => formField({ mapsTo: 'CUSTOM', inputType: 'TEXT', label: over.key, ...over });

describe('validateFormDefinition', () => {
  it('accepts the default form', () => {
    expect(validateFormDefinition(DEFAULT_FIELDS)).toEqual([]);
  });
  it.each([
    ['duplicate keys', [...DEFAULT_FIELDS, f({ key: 'email' })], ['fields', '5', 'key'], 'DUPLICATE_KEY'],
    ['malformed key', [...DEFAULT_FIELDS, f({ key: 'Bad Key' })], ['fields', '5', 'key'], 'INVALID_KEY'],
    ['SELECT without options', [...DEFAULT_FIELDS, f({ key: 'product', inputType: 'SELECT' })], ['fields', '5', 'options'], 'OPTIONS_REQUIRED'],
    ['condition on a later field', [f({ key: 'early', visibility: 'CONDITIONAL', condition: { fieldKey: 'subject', operator: 'IS_SET' } }), ...DEFAULT_FIELDS], ['fields', '0', 'condition'], 'INVALID_CONDITION'],
    ['condition on an unknown field', [...DEFAULT_FIELDS, f({ key: 'x', visibility: 'CONDITIONAL', condition: { fieldKey: 'nope', operator: 'IS_SET' } })], ['fields', '5', 'condition'], 'INVALID_CONDITION'],
    ['CONDITIONAL without condition', [...DEFAULT_FIELDS, f({ key: 'x', visibility: 'CONDITIONAL' })], ['fields', '5', 'condition'], 'CONDITION_REQUIRED'],
    ['two fields for the title', [...DEFAULT_FIELDS, f({ key: 'title2', mapsTo: 'TITLE' })], ['fields', '5', 'mapsTo'], 'DUPLICATE_MAPPING'],
    ['no email field', DEFAULT_FIELDS.filter((x) => x.key !== 'email'), ['fields'], 'MISSING_MAPPING'],
  ])('refuses %s', (_case, fields, path, code) => {
    expect(validateFormDefinition(fields)).toContainEqual(expect.objectContaining({ field: path, code }));
  });
});

describe('isVisible', () => {
  const kind = f({ key: 'kind', inputType: 'SELECT', options: [{ value: 'bug', label: 'Bug' }, { value: 'question', label: 'Question' }] });
  const fields = [kind, f({ key: 'version', visibility: 'CONDITIONAL', condition: { fieldKey: 'kind', operator: 'EQUALS', value: 'bug' } })];
  it.each([
    ['EQUALS', { kind: 'bug' }, 'EQUALS', 'bug', true],
    ['EQUALS, other value', { kind: 'question' }, 'EQUALS', 'bug', false],
    ['NOT_EQUALS', { kind: 'question' }, 'NOT_EQUALS', 'bug', true],
    ['CONTAINS, any case', { kind: 'Big BUG here' }, 'CONTAINS', 'bug', true],
    ['IS_SET', { kind: 'x' }, 'IS_SET', null, true],
    ['IS_SET on empty', { kind: '  ' }, 'IS_SET', null, false],
    ['IS_NOT_SET', {}, 'IS_NOT_SET', null, true],
  ] as const)('%s', (_case, values, operator, value, expected) => {
    const field = { ...fields[1]!, condition: { fieldKey: 'kind', operator, value } };
    expect(isVisible(field, values as Record<string, string>, [kind, field])).toBe(expected);
  });
  it('hides a field whose condition field is itself hidden', () => {
    const third = f({ key: 'build', visibility: 'CONDITIONAL', condition: { fieldKey: 'version', operator: 'IS_NOT_SET' } });
    expect(isVisible(third, { kind: 'question' }, [...fields, third])).toBe(false);
  });
});

describe('validateSubmission', () => {
  const fields: FormField[] = [
    ...DEFAULT_FIELDS,
    f({ key: 'company', mapsTo: 'CUSTOMER_COMPANY', label: 'Company' }),
    f({ key: 'urgency', mapsTo: 'PRIORITY', inputType: 'SELECT', label: 'Urgency', options: [{ value: 'LOW', label: 'Low' }, { value: 'URGENT', label: 'Urgent' }] }),
    f({ key: 'kind', inputType: 'SELECT', label: 'Kind', required: true, options: [{ value: 'bug', label: 'Bug' }, { value: 'question', label: 'Question' }] }),
    f({ key: 'version', label: 'Version', required: true, visibility: 'CONDITIONAL', condition: { fieldKey: 'kind', operator: 'EQUALS', value: 'bug' } }),
    f({ key: 'site', inputType: 'URL', label: 'Site' }),
    f({ key: 'seats', inputType: 'NUMBER', label: 'Seats' }),
    f({ key: 'since', inputType: 'DATE', label: 'Since' }),
    f({ key: 'newsletter', inputType: 'CHECKBOX', label: 'Newsletter' }),
    f({ key: 'source', visibility: 'HIDDEN', defaultValue: 'website', label: 'Source' }),
  ];
  const ok = { name: 'Ann', email: 'ann@example.com', subject: 'Broken', description: 'It broke.', kind: 'question' };

  it('maps a valid submission to a ticket with the other answers listed', () => {
    const { problems, ticket } = validateSubmission(fields, { ...ok, phone: '+32 2 123 45 67', company: 'ACME', urgency: 'URGENT', site: 'https://acme.example', seats: '12', since: '2026-11-01', newsletter: 'on', source: 'forged' });
    expect(problems).toEqual([]);
    expect(ticket).toMatchObject({ title: 'Broken', customerName: 'Ann', customerEmail: 'ann@example.com', customerPhone: '+32 2 123 45 67', customerCompany: 'ACME', priority: 3 });
    expect(describeSubmission(ticket!)).toBe(
      'It broke.\n\nOther information\nPhone: +32 2 123 45 67\nCompany: ACME\nKind: Question\nSite: https://acme.example\nSeats: 12\nSince: 2026-11-01\nNewsletter: yes\nSource: website',
    );
  });

  it('enforces a conditional required field only when it is shown', () => {
    expect(validateSubmission(fields, { ...ok, kind: 'question' }).problems).toEqual([]);
    expect(validateSubmission(fields, { ...ok, kind: 'bug' }).problems).toEqual([{ field: ['version'], code: 'REQUIRED', message: 'Version is required.' }]);
  });

  it.each([
    ['email', 'not-an-address'],
    ['phone', 'call me maybe'],
    ['site', 'javascript:alert(1)'],
    ['seats', 'twelve'],
    ['since', '2026-02-30'],
    ['kind', 'complaint'],
    ['urgency', 'BLOCKER'],
    ['newsletter', 'maybe'],
  ])('refuses a bad %s with its key', (key, value) => {
    expect(validateSubmission(fields, { ...ok, [key]: value }).problems).toEqual([expect.objectContaining({ field: [key], code: 'INVALID_FORMAT' })]);
  });

  it('reports every missing required field and over-long values', () => {
    const { problems, ticket } = validateSubmission(fields, { subject: 'x'.repeat(301) });
    expect(ticket).toBeNull();
    expect(problems.map((p) => [p.field[0], p.code])).toEqual([
      ['name', 'REQUIRED'],
      ['email', 'REQUIRED'],
      ['subject', 'TOO_LONG'],
      ['description', 'REQUIRED'],
      ['kind', 'REQUIRED'],
    ]);
  });
});

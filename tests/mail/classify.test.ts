import { describe, expect, it } from 'vitest';
import { automatedReason, normaliseMessageId, referencedMessageIds, subjectTicketNumber, type MailFacts } from '../../src/mail/classify.js';

const facts = (headers: Record<string, string>, from = 'ann@example.com', contentType = 'text/plain'): MailFacts => ({
  headers: new Map(Object.entries(headers)),
  contentType,
  fromAddress: from,
});
const own = new Set(['support@intake.test']);

describe('automatedReason', () => {
  it.each([
    [facts({}), null],
    [facts({ 'auto-submitted': 'no' }), null],
    [facts({ 'auto-submitted': 'auto-replied' }), 'Auto-Submitted: auto-replied'],
    [facts({ 'auto-submitted': 'auto-generated; owner-email="x@y"' }), 'Auto-Submitted: auto-generated; owner-email="x@y"'],
    [facts({ precedence: 'bulk' }), 'Precedence: bulk'],
    [facts({ precedence: 'Junk' }), 'Precedence: junk'],
    [facts({ precedence: 'list' }), 'Precedence: list'],
    [facts({ precedence: 'first-class' }), null],
    [facts({ 'x-autoreply': 'yes' }), 'X-Autoreply header'],
    [facts({ 'x-autorespond': 'whatever' }), 'X-Autorespond header'],
    [facts({}, 'mailer-daemon@mx.example.com'), 'sent by mailer-daemon'],
    [facts({}, 'postmaster@example.com'), 'sent by postmaster'],
    [facts({}, 'ann@example.com', 'multipart/report'), 'delivery report (multipart/report)'],
    [facts({}, 'support@intake.test'), 'sent from one of our own aliases (mail loop)'],
  ])('%#: %j → %s', (mail, expected) => {
    expect(automatedReason(mail, own)).toBe(expected);
  });
});

describe('referencedMessageIds', () => {
  it('puts In-Reply-To first, then References newest first, without repeats', () => {
    expect(referencedMessageIds('<c@x>', '<a@x> <b@x>\r\n <c@x>')).toEqual(['c@x', 'b@x', 'a@x']);
  });
  it('keeps only the last 32 references', () => {
    const refs = Array.from({ length: 40 }, (_, i) => `<m${i}@x>`).join(' ');
    const ids = referencedMessageIds(undefined, refs);
    expect(ids).toHaveLength(32);
    expect(ids[0]).toBe('m39@x');
    expect(ids.at(-1)).toBe('m8@x');
  });
  it('keeps at most 32 ids however many In-Reply-To holds', () => {
    const many = Array.from({ length: 70_000 }, (_, i) => `<m${i}@x>`).join(' ');
    const ids = referencedMessageIds(many, many);
    expect(ids).toHaveLength(32);
    expect(ids[0]).toBe('m0@x');
  });
  it('ignores garbage', () => {
    expect(referencedMessageIds('', 'no ids here')).toEqual([]);
    expect(referencedMessageIds(undefined, undefined)).toEqual([]);
  });
});

describe('subjectTicketNumber and normaliseMessageId', () => {
  it.each([
    ['Re: [#42] Printer', 42],
    ['[#7]', 7],
    ['#42 without brackets', null],
    ['[#abc]', null],
    ['', null],
  ])('%s → %s', (subject, number) => expect(subjectTicketNumber(subject)).toBe(number));
  it.each([
    ['<abc@host>', 'abc@host'],
    [' <abc@host> ', 'abc@host'],
    ['abc@host', 'abc@host'],
    ['', null],
    ['<>', null],
  ])('%s → %s', (value, id) => expect(normaliseMessageId(value)).toBe(id));
});

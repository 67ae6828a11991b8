import { describe, expect, it } from 'vitest';
import { acknowledgementLanguage, acknowledgementText, isNoReplyAddress } from '../../src/mail/acknowledge.js';
import { formatAddress, MAX_REFERENCES, replySubject, threadHeaders, ticketOfReplyAddress, ticketReplyAddress } from '../../src/mail/compose.js';
import { signerFromSecret } from '../../src/outbound/signing.js';
import { textToHtml } from '../../src/text/html.js';

describe('the subject of a reply', () => {
  it.each([
    ['Printer broken', 7, 'Re: Printer broken [#7]'],
    ['Re: Printer broken', 7, 'Re: Printer broken [#7]'],
    ['RE: Fwd: AW:  Printer\r\n broken', 7, 'Re: Printer broken [#7]'],
    ['Printer broken [#7]', 7, 'Re: Printer broken [#7]'],
    ['Printer [#7] broken', 7, 'Re: Printer broken [#7]'],
    ['About [#8]', 7, 'Re: About [#8] [#7]'],
    ['', 3, 'Re: (no subject) [#3]'],
    ['Ref: 1234 invoice', 3, 'Re: Ref: 1234 invoice [#3]'],
  ])('%j of ticket %i is %j', (title, number, subject) => {
    expect(replySubject(title, number)).toBe(subject);
  });
});

describe('threading headers', () => {
  it('answer the newest message and keep the first and the newest in References, capped', () => {
    expect(threadHeaders([])).toEqual({});
    expect(threadHeaders(['a@x'])).toEqual({ 'In-Reply-To': '<a@x>', References: '<a@x>' });
    expect(threadHeaders(['a@x', 'b@x', 'a@x'])).toEqual({ 'In-Reply-To': '<b@x>', References: '<a@x> <b@x>' });
    const ids = Array.from({ length: 40 }, (_, i) => `m${i}@x`);
    const headers = threadHeaders(ids);
    expect(headers['In-Reply-To']).toBe('<m39@x>');
    const refs = headers.References!.split(' ');
    expect(refs).toHaveLength(MAX_REFERENCES);
    expect(refs[0]).toBe('<m0@x>');
    expect(refs.at(-1)).toBe('<m39@x>');
    expect(refs[1]).toBe(`<m${40 - MAX_REFERENCES + 1}@x>`);
  });

  it('leave out ids that would break a header', () => {
    expect(threadHeaders(['bad id@x', 'x'.repeat(300) + '@y', 'ok@x'])).toEqual({ 'In-Reply-To': '<ok@x>', References: '<ok@x>' });
  });
});

describe('addresses', () => {
  it('quote display names on one line', () => {
    expect(formatAddress('Customer Care', 'cc@x.example')).toBe('"Customer Care" <cc@x.example>');
    expect(formatAddress('A "B" \\ C\r\nD', 'a@x.example')).toBe('"A \\"B\\" \\\\ C D" <a@x.example>');
    expect(formatAddress(null, 'a@x.example')).toBe('a@x.example');
  });

  it('a reply address names its ticket only while its signature holds', () => {
    const signer = signerFromSecret('secret one');
    const address = ticketReplyAddress(signer, { localPart: 'customer-care', domain: 'intake.test' }, 42);
    expect(address).toMatch(/^customer-care\+t42\.[0-9a-f]{16}@intake\.test$/);
    expect(ticketOfReplyAddress(signer, address)).toBe(42);
    expect(ticketOfReplyAddress(signer, address.toUpperCase())).toBe(42);
    expect(ticketOfReplyAddress(signerFromSecret('another key'), address)).toBeNull();
    expect(ticketOfReplyAddress(signer, address.replace('t42', 't43'))).toBeNull();
    expect(ticketOfReplyAddress(signer, 'customer-care@intake.test')).toBeNull();
    expect(ticketOfReplyAddress(signer, 'customer-care+hello@intake.test')).toBeNull();
  });
});

describe('acknowledgements', () => {
  it.each([
    ['fr-BE, fr;q=0.9, en;q=0.8', 'fr'],
    ['de-DE, nl;q=0.5, en;q=0.7', 'en'],
    ['nl', 'nl'],
    ['es-ES', 'es'],
    ['de, it', null],
    ['', null],
    [null, null],
    ['en;q=0, fr;q=0.1', 'fr'],
  ])('language of %j is %j', (value, language) => {
    expect(acknowledgementLanguage(value)).toBe(language);
  });

  it.each([
    ['noreply@shop.example', true],
    ['no-reply@shop.example', true],
    ['No_Reply+orders@shop.example', true],
    ['donotreply@shop.example', true],
    ['do-not-reply@shop.example', true],
    ['MAILER-DAEMON@mx.example', true],
    ['postmaster@mx.example', true],
    ['bounces+123@list.example', true],
    ['ann@example.com', false],
    ['noreplyann@example.com', false],
    ['reply@example.com', false],
  ])('%s is a no-reply sender: %s', (address, expected) => {
    expect(isNoReplyAddress(address)).toBe(expected);
  });

  it('say the number, the title and the team in each language', () => {
    for (const language of ['en', 'fr', 'nl', 'es'] as const) {
      const text = acknowledgementText(language, { number: 12, title: 'Invoice <twice>', team: 'Billing', name: 'Zoë' });
      expect(text.subject).toMatch(/: Invoice <twice> \[#12\]$/);
      expect(text.text).toContain('#12');
      expect(text.text).toContain('Invoice <twice>');
      expect(text.text).toContain('Billing');
      expect(text.text).toContain('Zoë');
      expect(text.html).toContain('Invoice &lt;twice&gt;');
    }
    expect(acknowledgementText('fr', { number: 1, title: 't', team: 'T', name: null }).text).toMatch(/^Bonjour,/);
  });
});

describe('text to HTML with links', () => {
  it.each([
    ['See https://example.com/a?b=1&c=2.', '<p>See <a href="https://example.com/a?b=1&amp;c=2">https://example.com/a?b=1&amp;c=2</a>.</p>'],
    ['(docs: https://en.wikipedia.org/wiki/Foo_(bar))', '<p>(docs: <a href="https://en.wikipedia.org/wiki/Foo_(bar)">https://en.wikipedia.org/wiki/Foo_(bar)</a>)</p>'],
    ['go to www.example.org, then', '<p>go to <a href="https://www.example.org">www.example.org</a>, then</p>'],
    ['a <b> "c"\nd\n\ne', '<p>a &lt;b&gt; &quot;c&quot;<br>d</p>\n<p>e</p>'],
    ['javascript:alert(1) http://', '<p>javascript:alert(1) http://</p>'],
    ['x https://a.example/"onmouseover=alert(1)', '<p>x <a href="https://a.example/">https://a.example/</a>&quot;onmouseover=alert(1)</p>'],
  ])('%j', (text, html) => {
    expect(textToHtml(text, { links: true })).toBe(html);
  });

  it('leaves links alone without the option', () => {
    expect(textToHtml('https://example.com')).toBe('<p>https://example.com</p>');
  });
});

import { describe, expect, it } from 'vitest';
import { fill, textsFor } from '../../src/livechat/widget/texts.js';

describe("the widget's own texts", () => {
  it.each([
    ['English', ['en-GB'], 'en', 'Leave us a message'],
    ['French', ['fr-FR', 'en'], 'fr', 'Laissez-nous un message'],
    ['Dutch, by region', ['nl-BE'], 'nl', 'Laat een bericht achter'],
    ['Spanish after a language it does not speak', ['de-DE', 'es-MX'], 'es', 'Déjenos un mensaje'],
    ['upper-case tag', ['ES'], 'es', 'Déjenos un mensaje'],
    ['no language it speaks: English', ['de-DE', 'ja'], 'en', 'Leave us a message'],
    ['no language at all: English', [], 'en', 'Leave us a message'],
  ])('%s', (_name, languages, lang, leaveMessage) => {
    const chosen = textsFor(languages);
    expect(chosen.lang).toBe(lang);
    expect(chosen.texts.leaveMessage).toBe(leaveMessage);
  });

  it('says every text in all four languages, each with the placeholders of the English one', () => {
    const english = textsFor(['en']).texts;
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const lang of ['fr', 'nl', 'es']) {
      const { texts } = textsFor([lang]);
      expect(Object.keys(texts).sort()).toEqual(Object.keys(english).sort());
      for (const [name, text] of Object.entries(texts)) {
        expect(text.trim(), `${lang}.${name}`).not.toBe('');
        expect(placeholders(text), `${lang}.${name}`).toEqual(placeholders(english[name as keyof typeof english]));
      }
    }
    expect(fill(textsFor(['nl']).texts.waiting, { n: 2 })).toBe('U bent nummer 2 in de wachtrij. We helpen u zo snel mogelijk.');
  });
});

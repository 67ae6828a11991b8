import { describe, expect, it } from 'vitest';
import { cleanText, codePointLength, cutByCodePoints, hasUnstorableText, isLongerThan } from '../../src/text/clean.js';

describe('cleanText', () => {
  it.each([
    ['plain', 'plain'],
    ['a\u0000b', 'a\uFFFDb'],
    ['lone high \uD83D end', 'lone high \uFFFD end'],
    ['lone low \uDE00 end', 'lone low \uFFFD end'],
    ['high at end \uD83D', 'high at end \uFFFD'],
    ['pair 😀 kept', 'pair 😀 kept'],
    ['\uDE00\uD83D', '\uFFFD\uFFFD'],
  ])('%j → %j', (input, expected) => {
    expect(cleanText(input)).toBe(expected);
    expect(hasUnstorableText(input)).toBe(input !== expected);
  });
});

describe('cutByCodePoints', () => {
  it.each([
    ['abc', 5, 'abc'],
    ['abcdef', 3, 'abc'],
    ['a😀b', 2, 'a😀'],
    ['😀😀😀', 2, '😀😀'],
    ['😀', 0, ''],
  ])('%j cut at %i → %j', (input, max, expected) => {
    expect(cutByCodePoints(input, max)).toBe(expected);
  });
});

describe('codePointLength and isLongerThan', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['😀', 1],
    ['a😀b😀', 4],
    ['lone \uD83D', 6],
    ['\uDE00\uD83D', 2],
  ])('%j has %i code points', (input, length) => {
    expect(codePointLength(input)).toBe(length);
    expect(isLongerThan(input, length)).toBe(false);
    if (length > 0) expect(isLongerThan(input, length - 1)).toBe(true);
  });
});

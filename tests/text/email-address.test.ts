import { describe, expect, it } from 'vitest';
import { isEmailAddress, isInternetEmailAddress } from '../../src/text/email-address.js';

describe('isEmailAddress', () => {
  it.each([
    ['jane@example.com', true],
    ['jane.doe+tag@mail.example.com', true],
    ['"john doe"@example.com', true],
    ['"john \\"j\\" doe"@example.com', true],
    ['"a\\\\b"@example.com', true],
    ['""@example.com', true],
    ['"unclosed@example.com', false],
    ['"bad"quote"@example.com', false],
    ['"new\nline"@example.com', false],
    ['john doe@example.com', false],
    ['jane@', false],
    ['@example.com', false],
    ['jane@-example.com', false],
  ])('%j → %s', (value, valid) => {
    expect(isEmailAddress(value)).toBe(valid);
  });

  it('needs a dot in the domain of an internet address', () => {
    expect(isInternetEmailAddress('"john doe"@example.com')).toBe(true);
    expect(isInternetEmailAddress('jane@localhost')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/graphql/iso-time.js';

describe('isoTime', () => {
  it('formats as toISOString does, across the calendar', () => {
    const edges = [0, 1, 999, 86_399_999, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 2, 1), Date.UTC(2024, 11, 31, 12), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    // Seeded steps rather than Math.random: a failure names a value that reproduces.
    let ms = 12_345;
    const samples = [...edges];
    for (let i = 0; i < 20_000; i++) samples.push((ms = (ms * 48_271 + 7_919) % 253_402_300_799_999));
    for (const value of samples) expect(isoTime(value), String(value)).toBe(new Date(value).toISOString());
  });

  it('leaves times outside 1970–9999 to toISOString', () => {
    for (const value of [-1, -62_198_755_200_000, 253_402_300_800_000, 1.5]) expect(isoTime(value)).toBe(new Date(value).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { addWorkingTime, DEFAULT_CALENDAR, instantOfLocal, workingTimeBetween, type WorkingCalendar } from '../../src/sla/calendar.js';

const H = 3_600_000;
const weekdays = (ranges: Array<[string, string]>) => [1, 2, 3, 4, 5].flatMap((weekday) => ranges.map(([start, end]) => ({ weekday, start, end })));

const brussels: WorkingCalendar = { timezone: 'Europe/Brussels', intervals: weekdays([['08:00', '17:00']]), holidays: ['2026-11-11'] };
const brusselsLunch: WorkingCalendar = { ...brussels, intervals: weekdays([['08:00', '12:00'], ['13:00', '17:00']]) };
const allDay: WorkingCalendar = { timezone: 'Europe/Brussels', intervals: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })), holidays: [] };

describe('addWorkingTime', () => {
  it.each([
    // [case, calendar, from (UTC), hours, expected deadline (UTC)]
    ['within a day', brussels, '2026-11-23T08:00:00Z', 2, '2026-11-23T10:00:00Z'],
    ['across a weekend', brussels, '2026-11-20T15:00:00Z', 2, '2026-11-23T08:00:00Z'],
    ['across a holiday (11 Nov)', brussels, '2026-11-10T15:00:00Z', 2, '2026-11-12T08:00:00Z'],
    ['across a lunch break', brusselsLunch, '2026-11-23T10:00:00Z', 2, '2026-11-23T13:00:00Z'],
    ['landing exactly on closing time', brussels, '2026-11-23T07:00:00Z', 9, '2026-11-23T16:00:00Z'],
    ['created before opening', brussels, '2026-11-23T05:00:00Z', 1, '2026-11-23T08:00:00Z'],
    ['created on a Saturday', brussels, '2026-11-21T09:00:00Z', 1, '2026-11-23T08:00:00Z'],
    ['created after closing', brussels, '2026-11-23T18:00:00Z', 1, '2026-11-24T08:00:00Z'],
    ['40 working hours (LOW policy)', brussels, '2026-11-23T07:00:00Z', 40, '2026-11-27T11:00:00Z'],
    ['across the spring DST change, office hours', brussels, '2026-03-27T15:00:00Z', 2, '2026-03-30T07:00:00Z'],
    ['across the autumn DST change, office hours', brussels, '2026-10-23T14:00:00Z', 2, '2026-10-26T08:00:00Z'],
    ['round the clock over the 23-hour spring Sunday', allDay, '2026-03-27T23:00:00Z', 48, '2026-03-29T23:00:00Z'],
    ['round the clock over the 25-hour autumn Sunday', allDay, '2026-10-23T22:00:00Z', 48, '2026-10-25T22:00:00Z'],
    ['default calendar: Monday to Friday 08–17 UTC', DEFAULT_CALENDAR, '2026-11-21T10:00:00Z', 4, '2026-11-23T12:00:00Z'],
    ['zero hours', brussels, '2026-11-21T10:00:00Z', 0, '2026-11-21T10:00:00Z'],
  ])('%s', (_case, calendar, from, hours, expected) => {
    expect(addWorkingTime(calendar, new Date(from), hours * H).toISOString()).toBe(new Date(expected).toISOString());
  });

  it('refuses a calendar without working time instead of looping', () => {
    expect(() => addWorkingTime({ timezone: 'UTC', intervals: [], holidays: [] }, new Date(), H)).toThrow(/no working time/);
  });
});

describe('workingTimeBetween', () => {
  it.each([
    ['Friday 16:00 to Monday 10:00', brussels, '2026-11-20T15:00:00Z', '2026-11-23T09:00:00Z', 3],
    ['over a lunch break', brusselsLunch, '2026-11-23T10:00:00Z', '2026-11-23T13:00:00Z', 2],
    ['over a holiday', brussels, '2026-11-10T07:00:00Z', '2026-11-12T16:00:00Z', 18],
    ['a whole weekend', brussels, '2026-11-21T00:00:00Z', '2026-11-22T23:00:00Z', 0],
    ['backwards', brussels, '2026-11-23T12:00:00Z', '2026-11-23T10:00:00Z', 0],
    ['the 23-hour spring Sunday', allDay, '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', 23],
    ['the 25-hour autumn Sunday', allDay, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', 25],
  ])('%s', (_case, calendar, from, to, hours) => {
    expect(workingTimeBetween(calendar, new Date(from), new Date(to))).toBe(hours * H);
  });

  it('is the inverse of addWorkingTime', () => {
    const from = new Date('2026-03-26T10:17:00Z');
    for (const hours of [1, 7.5, 9, 23, 40, 100]) {
      const deadline = addWorkingTime(brusselsLunch, from, hours * H);
      expect(workingTimeBetween(brusselsLunch, from, deadline)).toBe(hours * H);
    }
  });
});

describe('instantOfLocal', () => {
  it.each([
    ['a winter time', 2026, 1, 15, '09:00', '2026-01-15T08:00:00Z'],
    ['a summer time', 2026, 7, 15, '09:00', '2026-07-15T07:00:00Z'],
    ['skipped 02:30 on the spring-forward night → 03:30 CEST', 2026, 3, 29, '02:30', '2026-03-29T01:30:00Z'],
    ['repeated 02:30 on the fall-back night → first occurrence (CEST)', 2026, 10, 25, '02:30', '2026-10-25T00:30:00Z'],
  ])('%s', (_case, y, m, d, time, expected) => {
    const [h, min] = time.split(':').map(Number);
    expect(new Date(instantOfLocal(y, m, d, h! * 60 + min!, 'Europe/Brussels')).toISOString()).toBe(new Date(expected).toISOString());
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_CALENDAR } from '../../src/sla/calendar.js';
import { evaluateSla, policyMatches, type PolicyRule, type StagePeriod } from '../../src/sla/policy.js';

const base: PolicyRule = { id: 1, active: true, priorities: [], tagIds: [], customerIds: [], targetStageId: 3, excludedStageIds: [], hours: 4 };

describe('policyMatches', () => {
  it.each([
    ['empty sets match everything', {}, { priority: 2, tagIds: [], customerId: null }, true],
    ['inactive never matches', { active: false }, { priority: 0, tagIds: [], customerId: 1 }, false],
    ['priority in the set', { priorities: [2, 3] }, { priority: 3, tagIds: [], customerId: null }, true],
    ['priority outside the set', { priorities: [2, 3] }, { priority: 0, tagIds: [], customerId: null }, false],
    ['LOW-only set does not cover URGENT', { priorities: [0] }, { priority: 3, tagIds: [], customerId: null }, false],
    ['any of the tags', { tagIds: [5, 6] }, { priority: 0, tagIds: [1, 6], customerId: null }, true],
    ['none of the tags', { tagIds: [5, 6] }, { priority: 0, tagIds: [1], customerId: null }, false],
    ['customer in the set', { customerIds: [9] }, { priority: 0, tagIds: [], customerId: 9 }, true],
    ['no customer vs a customer set', { customerIds: [9] }, { priority: 0, tagIds: [], customerId: null }, false],
    ['all conditions together', { priorities: [1], tagIds: [5], customerIds: [9] }, { priority: 1, tagIds: [5], customerId: 9 }, true],
  ])('%s', (_case, policy, ticket, expected) => {
    expect(policyMatches({ ...base, ...policy }, ticket)).toBe(expected);
  });
});

// Stages: 1 New, 2 Waiting (excluded), 3 Solved (target), 4 Cancelled.
const sequenceOf = (id: number) => id;
const at = (iso: string) => new Date(iso);
const created = at('2026-11-23T08:00:00Z'); // Monday, default calendar 08–17 UTC

function evaluate(periods: StagePeriod[], now: string, policy: Partial<PolicyRule> = {}) {
  return evaluateSla({ policy: { ...base, excludedStageIds: [2], ...policy }, calendar: DEFAULT_CALENDAR, createdAt: created, periods, sequenceOf, now: at(now) });
}

describe('evaluateSla', () => {
  it('is ONGOING before the deadline and FAILED after it, unreached', () => {
    const periods = [{ stageId: 1, since: created, until: null }];
    expect(evaluate(periods, '2026-11-23T11:00:00Z')).toEqual({ deadline: at('2026-11-23T12:00:00Z'), reachedAt: null, status: 'ONGOING', paused: false });
    expect(evaluate(periods, '2026-11-23T12:00:01Z').status).toBe('FAILED');
  });

  it('pauses the clock in an excluded stage and moves the deadline by the time spent there', () => {
    const waiting = [
      { stageId: 1, since: created, until: at('2026-11-23T09:00:00Z') },
      { stageId: 2, since: at('2026-11-23T09:00:00Z'), until: null },
    ];
    const paused = evaluate(waiting, '2026-11-23T16:00:00Z');
    expect(paused).toMatchObject({ status: 'ONGOING', paused: true });
    const resumed = [
      { stageId: 1, since: created, until: at('2026-11-23T09:00:00Z') },
      { stageId: 2, since: at('2026-11-23T09:00:00Z'), until: at('2026-11-23T16:00:00Z') },
      { stageId: 1, since: at('2026-11-23T16:00:00Z'), until: null },
    ];
    // 4 h allowed + 7 h waiting → 11 working hours after Monday 08:00 → Tuesday 10:00.
    expect(evaluate(resumed, '2026-11-23T16:30:00Z')).toEqual({ deadline: at('2026-11-24T10:00:00Z'), reachedAt: null, status: 'ONGOING', paused: false });
  });

  it('is REACHED on time, FAILED when reached late, and un-reached when moved back', () => {
    const onTime = [
      { stageId: 1, since: created, until: at('2026-11-23T10:00:00Z') },
      { stageId: 3, since: at('2026-11-23T10:00:00Z'), until: null },
    ];
    expect(evaluate(onTime, '2026-11-25T00:00:00Z')).toMatchObject({ status: 'REACHED', reachedAt: at('2026-11-23T10:00:00Z') });
    const late = [
      { stageId: 1, since: created, until: at('2026-11-23T13:00:00Z') },
      { stageId: 3, since: at('2026-11-23T13:00:00Z'), until: null },
    ];
    expect(evaluate(late, '2026-11-23T13:00:00Z')).toMatchObject({ status: 'FAILED', reachedAt: at('2026-11-23T13:00:00Z') });
    const later = [
      { stageId: 1, since: created, until: at('2026-11-23T10:00:00Z') },
      { stageId: 3, since: at('2026-11-23T10:00:00Z'), until: at('2026-11-23T10:30:00Z') },
      { stageId: 4, since: at('2026-11-23T10:30:00Z'), until: null },
    ];
    expect(evaluate(later, '2026-11-23T11:00:00Z')).toMatchObject({ status: 'REACHED', reachedAt: at('2026-11-23T10:00:00Z') });
    const movedBack = [...onTime.slice(0, 1), { stageId: 3, since: at('2026-11-23T10:00:00Z'), until: at('2026-11-23T10:30:00Z') }, { stageId: 1, since: at('2026-11-23T10:30:00Z'), until: null }];
    expect(evaluate(movedBack, '2026-11-23T11:00:00Z')).toMatchObject({ status: 'ONGOING', reachedAt: null });
  });
});

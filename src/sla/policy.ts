import { addWorkingTime, workingTimeBetween, type WorkingCalendar } from './calendar.js';

/**
 * Which SLA policies apply to a ticket and where each stands. Pure: the service feeds it rows,
 * the tests feed it tables.
 */

export interface PolicyRule {
  id: number;
  active: boolean;
  /** Priorities 0–3 it covers; empty covers all (not only LOW, unlike exact matching). */
  priorities: number[];
  /** Any of these tags; empty means any ticket. */
  tagIds: number[];
  /** Any of these customers; empty means any ticket. */
  customerIds: number[];
  targetStageId: number;
  excludedStageIds: number[];
  hours: number;
}

export interface TicketFacts {
  priority: number;
  tagIds: number[];
  customerId: number | null;
}

export function policyMatches(policy: PolicyRule, ticket: TicketFacts): boolean {
  if (!policy.active) return false;
  if (policy.priorities.length > 0 && !policy.priorities.includes(ticket.priority)) return false;
  if (policy.tagIds.length > 0 && !ticket.tagIds.some((t) => policy.tagIds.includes(t))) return false;
  if (policy.customerIds.length > 0 && (ticket.customerId === null || !policy.customerIds.includes(ticket.customerId))) return false;
  return true;
}

/** A stretch of time the ticket spent in one stage; `until` null for the current one. */
export interface StagePeriod {
  stageId: number;
  since: Date;
  until: Date | null;
}

export type SlaState = 'ONGOING' | 'REACHED' | 'FAILED';

export interface SlaEvaluation {
  deadline: Date;
  reachedAt: Date | null;
  status: SlaState;
  /** True while the ticket sits in an excluded stage: the clock is stopped. */
  paused: boolean;
}

/**
 * Deadline = creation + `hours` of working time, plus the working time spent in excluded stages.
 * Reached when the ticket is in the target stage or a later one by sequence; moving back
 * before it un-reaches it.
 */
export function evaluateSla(input: {
  policy: Pick<PolicyRule, 'targetStageId' | 'excludedStageIds' | 'hours'>;
  calendar: WorkingCalendar;
  createdAt: Date;
  periods: StagePeriod[];
  sequenceOf: (stageId: number) => number;
  now: Date;
}): SlaEvaluation {
  const { policy, calendar, periods, now } = input;
  // A handful of stages at most: an array lookup beats building a Set per ticket.
  const excluded = policy.excludedStageIds;
  let pausedMs = 0;
  if (excluded.length > 0) {
    for (const p of periods) {
      if (excluded.includes(p.stageId)) pausedMs += workingTimeBetween(calendar, p.since, p.until ?? now);
    }
  }
  const deadline = addWorkingTime(calendar, input.createdAt, policy.hours * 3_600_000 + pausedMs);
  const current = periods.at(-1);
  const targetSequence = input.sequenceOf(policy.targetStageId);
  // Compared inline, not through a local arrow: the runtime names each such closure per call.
  let reachedAt: Date | null = null;
  if (current && input.sequenceOf(current.stageId) >= targetSequence) {
    // Reached when it entered the unbroken run of target-or-later stages it is still in.
    reachedAt = current.since;
    for (let i = periods.length - 2; i >= 0 && input.sequenceOf(periods[i]!.stageId) >= targetSequence; i--) reachedAt = periods[i]!.since;
  }
  const paused = !reachedAt && current !== undefined && excluded.includes(current.stageId);
  const status: SlaState = reachedAt ? (reachedAt <= deadline ? 'REACHED' : 'FAILED') : !paused && now > deadline ? 'FAILED' : 'ONGOING';
  return { deadline, reachedAt, status, paused };
}

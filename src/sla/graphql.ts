import { loadInBatch } from '../graphql/batch.js';
import { readsColumns } from '../graphql/selection.js';
import { builder } from '../graphql/builder.js';
import { payloadType, requireIdOf, withUserErrors } from '../graphql/user-errors.js';
import { Team } from '../teams/graphql.js';
import { Ticket, TicketPriority } from '../tickets/ticket-graphql.js';
import type { WorkingCalendar } from './calendar.js';
import { calendarsOf, createSlaPolicy, deleteSlaPolicy, recomputeSlaDeadlines, setWorkingHours, updateSlaPolicy, type SlaPolicyInput, type SlaPolicyRow } from './service.js';

const SlaStatusEnum = builder.enumType('SlaState', {
  description: 'Where a ticket stands against one SLA policy.',
  values: {
    ONGOING: { description: 'Target stage not reached, deadline not passed (or the clock is paused).' },
    REACHED: { description: 'Target stage reached on time.' },
    FAILED: { description: 'Reached late, or the deadline passed unreached.' },
  } as const,
});

export const SlaPolicy = builder.drizzleNode('slaPolicies', {
  name: 'SlaPolicy',
  description: 'A promise of a team: tickets it matches reach the target stage within `hours` of working time. ADMIN only: agents see its outcome on each ticket (SlaStatus).',
  // Configuration: refused to agents on the type, whichever field or node lookup reaches it.
  authScopes: { admin: true },
  id: { column: (p) => p.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, e.g. "Urgent: 4 hours".' }),
    description: t.exposeString('description', { description: 'What the policy promises.' }),
    active: t.exposeBoolean('active', { description: 'Inactive policies apply to no new or changed ticket.' }),
    priorities: t.field({ type: [TicketPriority], description: 'Priorities it covers; empty covers all.', resolve: (p) => p.priorities as Array<0 | 1 | 2 | 3> }),
    hours: t.exposeFloat('hours', { description: 'Working hours allowed, in the team calendar.' }),
    targetStage: t.relation('targetStage', { description: 'Reaching this stage, or a later one, fulfils the policy.' }),
  }),
});

// Registered for Ticket.slaStatuses, which finds it by table.
builder.drizzleObject('ticketSlaStatuses', {
  name: 'SlaStatus',
  description: 'Where a ticket stands against one SLA policy.',
  fields: (t) => ({
    policy: t.relation('policy', { description: 'The policy.' }),
    deadline: t.expose('deadline', { type: 'DateTime', description: 'When the target stage must be reached.' }),
    reachedAt: t.expose('reachedAt', { type: 'DateTime', nullable: true, description: 'When it was reached, if it was.' }),
    status: t.field({ type: SlaStatusEnum, description: 'Ongoing, reached or failed.', resolve: (s) => s.status }),
    paused: t.exposeBoolean('paused', { description: 'True while the ticket sits in an excluded stage: the clock is stopped.' }),
  }),
});

// All three load the ticket's SLA statuses by its id.
builder.drizzleObjectFields(Ticket, (t) => ({
  slaStatuses: t.relation('slaStatuses', {
    description: 'One per matching SLA policy, earliest deadline first.',
    query: { orderBy: { deadline: 'asc' } },
    extensions: readsColumns('id'),
  }),
  slaDeadline: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'The earliest deadline not yet reached; null when nothing is due.',
    select: { with: { slaStatuses: { columns: { deadline: true, reachedAt: true } } } },
    extensions: readsColumns('id'),
    resolve: (ticket) => {
      const open = ticket.slaStatuses.filter((s) => !s.reachedAt).map((s) => s.deadline.getTime());
      return open.length ? new Date(Math.min(...open)) : null;
    },
  }),
  slaFailed: t.boolean({
    description: 'Whether any SLA policy failed for this ticket.',
    select: { with: { slaStatuses: { columns: { status: true } } } },
    extensions: readsColumns('id'),
    resolve: (ticket) => ticket.slaStatuses.some((s) => s.status === 'FAILED'),
  }),
}));

const WorkingIntervalType = builder.objectRef<WorkingCalendar['intervals'][number]>('WorkingInterval').implement({
  description: 'A stretch of working time on a weekday, in the team time zone.',
  fields: (t) => ({
    weekday: t.exposeInt('weekday', { description: '1 Monday … 7 Sunday.' }),
    start: t.exposeString('start', { description: 'Start, "HH:MM".' }),
    end: t.exposeString('end', { description: 'End, "HH:MM" ("24:00" for midnight).' }),
  }),
});

const WorkingHours = builder.objectRef<WorkingCalendar>('WorkingHours').implement({
  description: 'The working calendar SLA deadlines are computed in.',
  fields: (t) => ({
    timezone: t.exposeString('timezone', { description: 'IANA time zone, e.g. Europe/Brussels.' }),
    intervals: t.field({ type: [WorkingIntervalType], description: 'Working intervals, any number per weekday.', resolve: (c) => c.intervals }),
    holidays: t.field({ type: ['Date'], description: 'Dates without working time.', resolve: (c) => c.holidays }),
  }),
});

builder.drizzleObjectFields(Team, (t) => ({
  useSla: t.exposeBoolean('useSla', { description: 'Whether SLA policies apply to the team tickets.' }),
  workingHours: t.field({ type: WorkingHours, description: 'The team calendar (default Monday–Friday 08:00–17:00 UTC).', resolve: (team, _args, ctx) => loadInBatch(ctx, 'Team.workingHours', team.id, (teamIds: number[]) => calendarsOf(ctx.db, teamIds)) }),
  slaPolicies: t.relation('slaPolicies', { description: 'The team SLA policies.', query: { orderBy: { id: 'asc' } } }),
}));

const WorkingIntervalInput = builder.inputType('WorkingIntervalInput', {
  description: 'A stretch of working time on a weekday.',
  fields: (t) => ({
    weekday: t.int({ required: true, description: '1 Monday … 7 Sunday.' }),
    start: t.string({ required: true, description: 'Start, "HH:MM".' }),
    end: t.string({ required: true, description: 'End, "HH:MM" ("24:00" for midnight).' }),
  }),
});

const SetWorkingHoursInput = builder.inputType('SetWorkingHoursInput', {
  description: 'A team calendar, replacing the previous one.',
  fields: (t) => ({
    teamId: t.id({ required: true, description: 'Global ID of the team.' }),
    timezone: t.string({ required: true, description: 'IANA time zone, e.g. Europe/Brussels.' }),
    intervals: t.field({ type: [WorkingIntervalInput], required: true, description: 'Working intervals, any number per weekday.' }),
    holidays: t.field({ type: ['Date'], description: 'Dates without working time.' }),
  }),
});

const policyFields = (t: any, creating: boolean) => ({
  name: t.string({ required: creating, description: 'Name, at most 120 characters.' }),
  description: t.string({ description: 'What the policy promises.' }),
  priorities: t.field({ type: [TicketPriority], description: 'Priorities covered; empty or absent covers all.' }),
  tagIds: t.idList({ description: 'Tickets with any of these tags; empty covers all.' }),
  customerIds: t.idList({ description: 'Tickets of any of these customers; empty covers all.' }),
  targetStageId: t.id({ required: creating, description: 'Stage (of the same team) that fulfils the policy.' }),
  excludedStageIds: t.idList({ description: 'Stages in which the clock pauses (e.g. waiting on the customer).' }),
  hours: t.float({ required: creating, description: 'Working hours allowed.' }),
  active: t.boolean({ description: 'Default true.' }),
});

const CreateSlaPolicyInput = builder.inputType('CreateSlaPolicyInput', {
  description: 'A new SLA policy.',
  fields: (t) => ({ teamId: t.id({ required: true, description: 'Global ID of the team.' }), ...policyFields(t, true) }),
});
const UpdateSlaPolicyInput = builder.inputType('UpdateSlaPolicyInput', {
  description: 'Changes to an SLA policy; fields left out stay as they are.',
  fields: (t) => ({ id: t.id({ required: true, description: 'Global ID of the policy.' }), ...policyFields(t, false) }),
});
const DeleteSlaPolicyInput = builder.inputType('DeleteSlaPolicyInput', {
  description: 'An SLA policy to delete, with its statuses.',
  fields: (t) => ({ id: t.id({ required: true, description: 'Global ID of the policy.' }) }),
});

function policyInput(input: any): SlaPolicyInput {
  return {
    ...input,
    tagIds: input.tagIds?.map((id: string) => requireIdOf(String(id), 'Tag', 'tagIds')),
    customerIds: input.customerIds?.map((id: string) => requireIdOf(String(id), 'Customer', 'customerIds')),
    targetStageId: input.targetStageId == null ? input.targetStageId : requireIdOf(String(input.targetStageId), 'Stage', 'targetStageId'),
    excludedStageIds: input.excludedStageIds?.map((id: string) => requireIdOf(String(id), 'Stage', 'excludedStageIds')),
  };
}

const adminOnly = { authScopes: { admin: true } } as const;
const SlaPolicyPayload = (name: string) => payloadType<SlaPolicyRow, 'slaPolicy'>(name, `Result of ${name[0]!.toLowerCase()}${name.slice(1, -7)}.`, 'slaPolicy', SlaPolicy, 'The policy, when the mutation succeeded.');

builder.mutationFields((t) => ({
  setWorkingHours: t.field({
    ...adminOnly,
    type: payloadType<WorkingCalendar, 'workingHours'>('SetWorkingHoursPayload', 'Result of setWorkingHours.', 'workingHours', WorkingHours, 'The calendar now in force.'),
    description: 'Sets a team calendar. Existing deadlines move with recomputeSlaDeadlines or the next change of each ticket. ADMIN only.',
    args: { input: t.arg({ type: SetWorkingHoursInput, required: true, description: 'The calendar.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        workingHours: await setWorkingHours(ctx.db, {
          teamId: requireIdOf(String(input.teamId), 'Team', 'teamId'),
          timezone: input.timezone,
          intervals: input.intervals,
          holidays: input.holidays ?? [],
        }),
      })),
  }),
  createSlaPolicy: t.field({
    ...adminOnly,
    type: SlaPolicyPayload('CreateSlaPolicyPayload'),
    description: 'Adds an SLA policy to a team. It applies to tickets created or changed from now on. ADMIN only.',
    args: { input: t.arg({ type: CreateSlaPolicyInput, required: true, description: 'The policy.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({ slaPolicy: await createSlaPolicy(ctx.db, { ...policyInput(input), teamId: requireIdOf(String(input.teamId), 'Team', 'teamId') }) })),
  }),
  updateSlaPolicy: t.field({
    ...adminOnly,
    type: SlaPolicyPayload('UpdateSlaPolicyPayload'),
    description: 'Changes an SLA policy. ADMIN only.',
    args: { input: t.arg({ type: UpdateSlaPolicyInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({ slaPolicy: await updateSlaPolicy(ctx.db, { ...policyInput(input), id: requireIdOf(String(input.id), 'SlaPolicy', 'id') }) })),
  }),
  deleteSlaPolicy: t.field({
    ...adminOnly,
    type: payloadType<string, 'deletedId'>('DeleteSlaPolicyPayload', 'Result of deleteSlaPolicy.', 'deletedId', 'ID', 'Global ID of the deleted policy.'),
    description: 'Deletes an SLA policy and its statuses. ADMIN only.',
    args: { input: t.arg({ type: DeleteSlaPolicyInput, required: true, description: 'The policy.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        await deleteSlaPolicy(ctx.db, { id: requireIdOf(String(input.id), 'SlaPolicy', 'id') });
        return { deletedId: String(input.id) };
      }),
  }),
}));

const RecomputeSlaDeadlinesInput = builder.inputType('RecomputeSlaDeadlinesInput', {
  description: 'Which tickets to recompute; neither field means every ticket.',
  fields: (t) => ({
    teamId: t.id({ description: "Only this team's tickets." }),
    ticketIds: t.idList({ description: 'Only these tickets.' }),
  }),
});

builder.mutationField('recomputeSlaDeadlines', (t) =>
  t.field({
    ...adminOnly,
    type: payloadType<number, 'recomputedCount'>('RecomputeSlaDeadlinesPayload', 'Result of recomputeSlaDeadlines.', 'recomputedCount', 'Int', 'How many tickets were recomputed.'),
    description: 'Recomputes SLA statuses after a policy or calendar change (also `npm run sla:recompute`). ADMIN only.',
    args: { input: t.arg({ type: RecomputeSlaDeadlinesInput, required: true, description: 'The tickets.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        recomputedCount: await recomputeSlaDeadlines(ctx.db, {
          teamId: input.teamId == null ? null : requireIdOf(String(input.teamId), 'Team', 'teamId'),
          ticketIds: input.ticketIds?.map((id) => requireIdOf(String(id), 'Ticket', 'ticketIds')) ?? null,
        }),
      })),
  }),
);

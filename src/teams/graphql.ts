import { readsColumns } from '../graphql/selection.js';
import { builder } from '../graphql/builder.js';
import { idArgument } from '../graphql/global-id.js';
import { payloadType, requireIdOf, withUserErrors } from '../graphql/user-errors.js';
import {
  addMailDomain,
  createStage,
  createTeam,
  DEFAULT_REFUSAL_TEXT,
  listMailDomains,
  removeMailDomain,
  reorderStages,
  updateStage,
  updateTeam,
  type StageRow,
  type TeamRow,
} from './service.js';

interface EmailAliasShape {
  localPart: string;
  domain: string;
  contactPolicy: TeamRow['aliasContactPolicy'];
  refusalText: string | null;
}

export const AliasContactPolicy = builder.enumType('AliasContactPolicy', {
  description: 'Who may open tickets by writing to a team alias.',
  values: {
    EVERYONE: { description: 'Anyone (the default).' },
    KNOWN_CUSTOMERS: { description: 'Only senders who are already customers; others are refused at RCPT TO with 550 5.7.1.' },
  } as const,
});

export const EmailAlias = builder.objectRef<EmailAliasShape>('EmailAlias').implement({
  description: "A team's address for incoming mail.",
  fields: (t) => ({
    address: t.string({ description: 'The whole address, e.g. customer-care@example.com.', resolve: (a) => `${a.localPart}@${a.domain}` }),
    localPart: t.exposeString('localPart', { description: 'The part before the @.' }),
    domain: t.exposeString('domain', { description: 'The mail domain after the @.' }),
    contactPolicy: t.field({ type: AliasContactPolicy, description: 'Who may write to it.', resolve: (a) => a.contactPolicy }),
    refusalText: t.string({
      description: 'Text of the 550 reply to senders the contact policy refuses.',
      resolve: (a) => a.refusalText ?? DEFAULT_REFUSAL_TEXT,
    }),
  }),
});

export const Stage = builder.drizzleNode('stages', {
  name: 'Stage',
  description: 'A step of the ticket pipeline of a team, e.g. New or Solved.',
  id: { column: (s) => s.id },
  fields: (t) => ({
    // Plain resolvers: every ticket in a list resolves its stage (see Customer in tickets/graphql.ts).
    name: t.string({ description: 'Name shown to agents.', resolve: (s) => s.name }),
    sequence: t.int({ description: 'Position in the pipeline, lowest first.', resolve: (s) => s.sequence }),
    closed: t.boolean({ description: 'Tickets in a closed stage are finished (solved or cancelled).', resolve: (s) => s.closed }),
    team: t.relation('team', { description: 'The team whose pipeline this is.', extensions: readsColumns('id') }),
  }),
});

export const Team = builder.drizzleNode('teams', {
  name: 'Team',
  description: 'A group of agents that owns tickets and the channels they arrive through.',
  id: { column: (team) => team.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name, e.g. Customer Care.' }),
    useEmailAlias: t.exposeBoolean('useEmailAlias', { description: 'Whether mail to the team alias creates tickets.' }),
    useWebsiteForm: t.exposeBoolean('useWebsiteForm', { description: 'Whether the public website form is switched on.' }),
    useLiveChat: t.exposeBoolean('useLiveChat', { description: 'Whether the live chat channel is switched on.' }),
    acknowledgeNewTickets: t.exposeBoolean('acknowledgeNewTickets', {
      description:
        'Whether the customer of each new ticket from mail or the website form is told by mail that it was received (its number, title and the team name), at most ACK_MAX_PER_SENDER_PER_HOUR times an hour per address, never to automated mail or no-reply senders.',
    }),
    emailAlias: t.field({
      type: EmailAlias,
      nullable: true,
      description: 'Address that receives mail for the team; null while the email channel is off.',
      resolve: (team) =>
        team.useEmailAlias && team.aliasLocalPart && team.aliasDomain
          ? { localPart: team.aliasLocalPart, domain: team.aliasDomain, contactPolicy: team.aliasContactPolicy, refusalText: team.aliasRefusalText }
          : null,
    }),
    stages: t.relation('stages', {
      description: 'The pipeline, in order.',
      query: { orderBy: { sequence: 'asc', id: 'asc' } },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the team was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the team was last changed.' }),
  }),
});

builder.queryFields((t) => ({
  teams: t.drizzleField({
    type: [Team],
    description: 'All teams, by name.',
    resolve: (query, _root, _args, ctx) => ctx.db.query.teams.findMany(query({ orderBy: { name: 'asc', id: 'asc' } })),
  }),
  team: t.drizzleField({
    type: Team,
    nullable: true,
    description: 'One team by ID, or null.',
    args: { id: t.arg.id({ required: true, description: 'Global ID of the team.' }) },
    resolve: (query, _root, args, ctx) => {
      const id = idArgument(args.id, 'Team', ['id']);
      return ctx.db.query.teams.findFirst(query({ where: { id } }));
    },
  }),
}));

const TeamPayload = (name: string, description: string) =>
  payloadType<TeamRow, 'team'>(name, description, 'team', Team, 'The team, when the mutation succeeded.');

const StagePayload = (name: string, description: string) =>
  payloadType<StageRow, 'stage'>(name, description, 'stage', Stage, 'The stage, when the mutation succeeded.');

const CreateTeamInput = builder.inputType('CreateTeamInput', {
  description: 'A new team. Its alias is derived from the name unless given.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Display name, at most 120 characters.' }),
    useEmailAlias: t.boolean({ description: 'Receive mail at the alias (default true).' }),
    useWebsiteForm: t.boolean({ description: 'Switch the website form on (default false).' }),
    useLiveChat: t.boolean({ description: 'Switch live chat on (default false).' }),
    acknowledgeNewTickets: t.boolean({ description: 'Acknowledge new tickets from mail and the form by mail to the customer (default false).' }),
    emailAlias: t.string({ description: 'Local part ("support") or whole address on the mail domain; derived from the name when left out.' }),
  }),
});

const UpdateTeamInput = builder.inputType('UpdateTeamInput', {
  description: 'Changes to a team; fields left out stay as they are.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'Global ID of the team.' }),
    name: t.string({ description: 'New display name.' }),
    useEmailAlias: t.boolean({ description: 'Switch the email channel on or off.' }),
    useWebsiteForm: t.boolean({ description: 'Switch the website form on or off.' }),
    useLiveChat: t.boolean({ description: 'Switch live chat on or off.' }),
    useSla: t.boolean({ description: 'Apply SLA policies to the team tickets (from their next change, or after recomputeSlaDeadlines).' }),
    acknowledgeNewTickets: t.boolean({ description: 'Switch acknowledgements of new tickets (by mail to the customer) on or off.' }),
    emailAlias: t.string({ description: 'New alias; null or "" restores the one derived from the name.' }),
    emailAliasContactPolicy: t.field({ type: AliasContactPolicy, description: 'Who may write to the alias.' }),
    emailAliasRefusalText: t.string({ description: 'One line sent with the 550 refusal; null or "" restores the default.' }),
  }),
});

const CreateStageInput = builder.inputType('CreateStageInput', {
  description: 'A stage added at the end of a team pipeline.',
  fields: (t) => ({
    teamId: t.id({ required: true, description: 'Global ID of the team.' }),
    name: t.string({ required: true, description: 'Name, at most 80 characters.' }),
    closed: t.boolean({ description: 'Whether tickets in it are finished (default false).' }),
  }),
});

const UpdateStageInput = builder.inputType('UpdateStageInput', {
  description: 'Renames a stage or marks it closed or open.',
  fields: (t) => ({
    stageId: t.id({ required: true, description: 'Global ID of the stage.' }),
    name: t.string({ description: 'New name.' }),
    closed: t.boolean({ description: 'Whether tickets in it are finished.' }),
  }),
});

const ReorderStagesInput = builder.inputType('ReorderStagesInput', {
  description: 'The new order of all stages of a team.',
  fields: (t) => ({
    teamId: t.id({ required: true, description: 'Global ID of the team.' }),
    stageIds: t.idList({ required: true, description: 'Every stage of the team, each once, in the new order.' }),
  }),
});

const ReorderStagesPayload = payloadType<StageRow[], 'stages'>('ReorderStagesPayload', 'Result of reorderStages.', 'stages', [Stage], 'The pipeline in its new order.');

const adminOnly = { authScopes: { admin: true } } as const;

builder.mutationFields((t) => ({
  createTeam: t.field({
    ...adminOnly,
    type: TeamPayload('CreateTeamPayload', 'Result of createTeam.'),
    description: 'Creates a team with its alias and the default stages New, In Progress, Solved and Cancelled. ADMIN only.',
    args: { input: t.arg({ type: CreateTeamInput, required: true, description: 'The new team.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ team: await createTeam(ctx.db, ctx.config, input) })),
  }),
  updateTeam: t.field({
    ...adminOnly,
    type: TeamPayload('UpdateTeamPayload', 'Result of updateTeam.'),
    description: 'Renames a team, switches its channels or edits its alias. ADMIN only.',
    args: { input: t.arg({ type: UpdateTeamInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        team: await updateTeam(ctx.db, ctx.config, { ...input, id: requireIdOf(String(input.id), 'Team', 'id') }),
      })),
  }),
  createStage: t.field({
    ...adminOnly,
    type: StagePayload('CreateStagePayload', 'Result of createStage.'),
    description: 'Adds a stage at the end of a team pipeline. ADMIN only.',
    args: { input: t.arg({ type: CreateStageInput, required: true, description: 'The new stage.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        stage: await createStage(ctx.db, { ...input, teamId: requireIdOf(String(input.teamId), 'Team', 'teamId') }),
      })),
  }),
  updateStage: t.field({
    ...adminOnly,
    type: StagePayload('UpdateStagePayload', 'Result of updateStage.'),
    description: 'Renames a stage or marks it closed. ADMIN only.',
    args: { input: t.arg({ type: UpdateStageInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        stage: await updateStage(ctx.db, { ...input, stageId: requireIdOf(String(input.stageId), 'Stage', 'stageId') }),
      })),
  }),
  reorderStages: t.field({
    ...adminOnly,
    type: ReorderStagesPayload,
    description: 'Puts the stages of a team in a new order. ADMIN only.',
    args: { input: t.arg({ type: ReorderStagesInput, required: true, description: 'The new order.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        stages: await reorderStages(ctx.db, {
          teamId: requireIdOf(String(input.teamId), 'Team', 'teamId'),
          stageIds: input.stageIds.map((id) => requireIdOf(String(id), 'Stage', 'stageIds')),
        }),
      })),
  }),
}));

const AddMailDomainInput = builder.inputType('AddMailDomainInput', {
  description: 'A domain to receive mail for.',
  fields: (t) => ({ domain: t.string({ required: true, description: 'Host name, e.g. support.example.com; point its MX at this server.' }) }),
});

const RemoveMailDomainInput = builder.inputType('RemoveMailDomainInput', {
  description: 'An added domain to stop receiving mail for.',
  fields: (t) => ({ domain: t.string({ required: true, description: 'Host name added earlier with addMailDomain.' }) }),
});

const MailDomainsPayload = (name: string) =>
  payloadType<string[], 'domains'>(name, `Result of ${name[0]!.toLowerCase()}${name.slice(1, -'Payload'.length)}: the mail domains after the change.`, 'domains', ['String'], 'MAIL_DOMAIN first, then the added ones.');

builder.queryField('mailDomains', (t) =>
  t.stringList({
    authScopes: { admin: true },
    description: 'Domains this server receives mail for: MAIL_DOMAIN, then those added with addMailDomain. ADMIN only.',
    resolve: (_root, _args, ctx) => listMailDomains(ctx.db, ctx.config),
  }),
);

builder.mutationFields((t) => ({
  addMailDomain: t.field({
    ...adminOnly,
    type: MailDomainsPayload('AddMailDomainPayload'),
    description: 'Receives mail for another domain (a custom domain), so aliases can use it. ADMIN only.',
    args: { input: t.arg({ type: AddMailDomainInput, required: true, description: 'The domain.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ domains: await addMailDomain(ctx.db, ctx.config, input) })),
  }),
  removeMailDomain: t.field({
    ...adminOnly,
    type: MailDomainsPayload('RemoveMailDomainPayload'),
    description: 'Stops receiving mail for an added domain; refused while a team alias uses it. ADMIN only.',
    args: { input: t.arg({ type: RemoveMailDomainInput, required: true, description: 'The domain.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ domains: await removeMailDomain(ctx.db, ctx.config, input) })),
  }),
}));

import { UserInputError } from '../errors.js';
import type { Context } from '../graphql/context.js';
import { builder } from '../graphql/builder.js';
import { idOf, payloadType, requireIdOf, UserError, withUserErrors } from '../graphql/user-errors.js';
import { Team } from '../teams/graphql.js';
import type { TeamRow } from '../teams/service.js';
import { loadInBatch } from '../graphql/batch.js';
import { DEVICES, formField, INPUT_TYPES, LABEL_POSITIONS, MAPS_TO, OPERATORS, VISIBILITIES, type FormField } from './form.js';
import { formRefusalReason, formsOf, formsOfTeamIds, setWebsiteFormPublished, submitWebsiteForm, updateWebsiteForm, type WebsiteFormRow } from './service.js';
import { metricsOf } from '../observability/metrics.js';
import type { SideBlock } from './tables.js';

const enumOf = (name: string, description: string, values: readonly string[]) =>
  builder.enumType(name, { description, values: Object.fromEntries(values.map((v) => [v, { description: v.replaceAll('_', ' ').toLowerCase() }])) });

const FormFieldMapsTo = enumOf('FormFieldMapsTo', 'What part of the ticket a form field fills.', MAPS_TO);
const FormInputType = enumOf('FormInputType', 'The kind of input shown.', INPUT_TYPES);
const LabelPosition = enumOf('FormLabelPosition', 'Where the label sits.', LABEL_POSITIONS);
const FieldVisibility = enumOf('FormFieldVisibility', 'When a field is shown.', VISIBILITIES);
const ConditionOperator = enumOf('FormConditionOperator', 'How a condition compares the other field.', OPERATORS);
const DeviceVisibility = enumOf('FormFieldDevices', 'On which screens a field is shown.', DEVICES);

const FieldOption = builder.objectRef<{ value: string; label: string }>('FormFieldOption').implement({
  description: 'A choice of a SELECT field.',
  fields: (t) => ({ value: t.exposeString('value', { description: 'Value submitted.' }), label: t.exposeString('label', { description: 'Text shown.' }) }),
});
const Condition = builder.objectRef<NonNullable<FormField['condition']>>('FormFieldCondition').implement({
  description: 'Shows a field only when an earlier field meets it.',
  fields: (t) => ({
    fieldKey: t.exposeString('fieldKey', { description: 'Key of the earlier field.' }),
    operator: t.field({ type: ConditionOperator, description: 'Comparison.', resolve: (c) => c.operator }),
    value: t.exposeString('value', { nullable: true, description: 'Value compared with (not for IS_SET / IS_NOT_SET).' }),
  }),
});
const FieldType = builder.objectRef<FormField>('FormField').implement({
  description: 'A field of a website form.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Unique key, also the name of the input.' }),
    mapsTo: t.field({ type: FormFieldMapsTo, description: 'What it fills.', resolve: (f) => f.mapsTo }),
    inputType: t.field({ type: FormInputType, description: 'Kind of input.', resolve: (f) => f.inputType }),
    label: t.exposeString('label', { description: 'Label text.' }),
    labelPosition: t.field({ type: LabelPosition, description: 'Where the label sits.', resolve: (f) => f.labelPosition }),
    description: t.exposeString('description', { nullable: true, description: 'A line shown under the input.' }),
    placeholder: t.exposeString('placeholder', { nullable: true, description: 'Placeholder text.' }),
    defaultValue: t.exposeString('defaultValue', { nullable: true, description: 'Initial value (the value of HIDDEN fields).' }),
    required: t.exposeBoolean('required', { description: 'Required when visible.' }),
    visibility: t.field({ type: FieldVisibility, description: 'When it is shown.', resolve: (f) => f.visibility }),
    condition: t.field({ type: Condition, nullable: true, description: 'For CONDITIONAL fields.', resolve: (f) => f.condition }),
    devices: t.field({ type: DeviceVisibility, description: 'Screens it is shown on.', resolve: (f) => f.devices }),
    options: t.field({ type: [FieldOption], description: 'Choices of a SELECT field.', resolve: (f) => f.options }),
  }),
});
const SideBlockType = builder.objectRef<SideBlock>('FormSideBlock').implement({
  description: 'A text block shown beside the form (team details, opening hours, links).',
  fields: (t) => ({ title: t.exposeString('title', { description: 'Heading.' }), body: t.exposeString('body', { description: 'Text; blank lines separate paragraphs.' }) }),
});

export const WebsiteForm = builder.node(builder.objectRef<WebsiteFormRow>('WebsiteForm'), {
  description: "A team's public ticket form, one per team. Until it is first changed it shows the defaults.",
  // Its global ID carries the team's id: the form exists (with defaults) for every team.
  id: { resolve: (f) => f.teamId },
  loadMany: (teamIds, ctx) => formsOfTeamIds(ctx.db, teamIds.map(Number)),
  fields: (t) => ({
    published: t.exposeBoolean('published', { description: 'Whether customers can reach it.' }),
    url: t.string({ description: 'Address of the public page.', resolve: (f, _a, ctx) => `${ctx.publicUrl}/support/${f.slug}` }),
    title: t.exposeString('title', { description: 'Heading of the page.' }),
    intro: t.exposeString('intro', { description: 'Text above the form.' }),
    successMessage: t.exposeString('successMessage', { description: 'Shown after a submission, with the ticket number.' }),
    sideBlocks: t.field({ type: [SideBlockType], description: 'Blocks beside the form.', resolve: (f) => f.sideBlocks }),
    fields: t.field({ type: [FieldType], description: 'The fields, in order.', resolve: (f) => f.fields }),
  }),
});

builder.drizzleObjectFields(Team, (t) => ({
  websiteForm: t.field({
    type: WebsiteForm,
    nullable: true,
    description: 'The public ticket form; null while the website form channel is off.',
    resolve: (team, _args, ctx) =>
      team.useWebsiteForm ? loadInBatch(ctx, 'Team.websiteForm', team, (teamRows: TeamRow[]) => formsOf(ctx.db, teamRows)) : null,
  }),
}));

const OptionInput = builder.inputType('FormFieldOptionInput', {
  description: 'A choice of a SELECT field.',
  fields: (t) => ({ value: t.string({ required: true, description: 'Value submitted.' }), label: t.string({ required: true, description: 'Text shown.' }) }),
});
const ConditionInput = builder.inputType('FormFieldConditionInput', {
  description: 'Shows a field only when an earlier field meets it.',
  fields: (t) => ({
    fieldKey: t.string({ required: true, description: 'Key of an earlier field.' }),
    operator: t.field({ type: ConditionOperator, required: true, description: 'Comparison.' }),
    value: t.string({ description: 'Value compared with.' }),
  }),
});
const FieldInput = builder.inputType('FormFieldInput', {
  description: 'A field of the form.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Unique key: lower-case letters, digits, _.' }),
    mapsTo: t.field({ type: FormFieldMapsTo, required: true, description: 'What it fills.' }),
    inputType: t.field({ type: FormInputType, required: true, description: 'Kind of input.' }),
    label: t.string({ required: true, description: 'Label text.' }),
    labelPosition: t.field({ type: LabelPosition, description: 'Default TOP.' }),
    description: t.string({ description: 'A line shown under the input.' }),
    placeholder: t.string({ description: 'Placeholder text.' }),
    defaultValue: t.string({ description: 'Initial value.' }),
    required: t.boolean({ description: 'Default false.' }),
    visibility: t.field({ type: FieldVisibility, description: 'Default ALWAYS.' }),
    condition: t.field({ type: ConditionInput, description: 'For CONDITIONAL fields.' }),
    devices: t.field({ type: DeviceVisibility, description: 'Default ALL.' }),
    options: t.field({ type: [OptionInput], description: 'Choices of a SELECT field.' }),
  }),
});
const SideBlockInput = builder.inputType('FormSideBlockInput', {
  description: 'A text block beside the form.',
  fields: (t) => ({ title: t.string({ required: true, description: 'Heading.' }), body: t.string({ required: true, description: 'Text.' }) }),
});
const UpdateWebsiteFormInput = builder.inputType('UpdateWebsiteFormInput', {
  description: 'Changes to a form; a field list replaces the old one as a whole.',
  fields: (t) => ({
    teamId: t.id({ required: true, description: 'Global ID of the team.' }),
    title: t.string({ description: 'Heading of the page.' }),
    intro: t.string({ description: 'Text above the form.' }),
    successMessage: t.string({ description: 'Shown after a submission.' }),
    sideBlocks: t.field({ type: [SideBlockInput], description: 'Blocks beside the form.' }),
    fields: t.field({ type: [FieldInput], description: 'All fields, in order.' }),
  }),
});
const PublishWebsiteFormInput = builder.inputType('PublishWebsiteFormInput', {
  description: 'The team whose form goes public.',
  fields: (t) => ({ teamId: t.id({ required: true, description: 'Global ID of the team.' }) }),
});
const UnpublishWebsiteFormInput = builder.inputType('UnpublishWebsiteFormInput', {
  description: 'The team whose form goes offline.',
  fields: (t) => ({ teamId: t.id({ required: true, description: 'Global ID of the team.' }) }),
});
const FormValueInput = builder.inputType('FormValueInput', {
  description: 'The answer to one field.',
  fields: (t) => ({ key: t.string({ required: true, description: 'Field key.' }), value: t.string({ required: true, description: 'The answer.' }) }),
});
const SubmitWebsiteFormInput = builder.inputType('SubmitWebsiteFormInput', {
  description: 'A customer submission.',
  fields: (t) => ({
    teamId: t.id({ required: true, description: 'Global ID of the team.' }),
    values: t.field({ type: [FormValueInput], required: true, description: 'Answers, by field key (at most 100).' }),
  }),
});

const toField = (f: any): FormField =>
  formField({ ...f, condition: f.condition ? { fieldKey: f.condition.fieldKey, operator: f.condition.operator, value: f.condition.value ?? null } : null });

const FormPayload = (name: string) => payloadType<WebsiteFormRow, 'websiteForm'>(name, `Result of ${name[0]!.toLowerCase()}${name.slice(1, -7)}.`, 'websiteForm', WebsiteForm, 'The form, when the mutation succeeded.');

const SubmitWebsiteFormPayload = builder.objectRef<{ ticketNumber?: number; successMessage?: string; userErrors: typeof UserError.$inferType[] }>('SubmitWebsiteFormPayload').implement({
  description: 'Result of submitWebsiteForm: the ticket number and nothing else of the ticket.',
  fields: (t) => ({
    ticketNumber: t.int({ nullable: true, description: 'Number of the new ticket, to quote in later contact.', resolve: (p) => p.ticketNumber ?? null }),
    successMessage: t.string({ nullable: true, description: "The form's thank-you text.", resolve: (p) => p.successMessage ?? null }),
    userErrors: t.field({ type: [UserError], description: 'Problems, with the field key as field; empty on success.', resolve: (p) => p.userErrors }),
  }),
});

/** publishWebsiteForm and unpublishWebsiteForm differ only in the state they set. */
const setPublished = (t: any, published: boolean, input: typeof PublishWebsiteFormInput, payloadName: string, description: string) =>
  t.field({
    authScopes: { admin: true },
    type: FormPayload(payloadName),
    description,
    args: { input: t.arg({ type: input, required: true, description: 'The team.' }) },
    resolve: (_root: unknown, { input }: { input: { teamId: string | number } }, ctx: Context) =>
      withUserErrors(async () => ({ websiteForm: await setWebsiteFormPublished(ctx.db, { teamId: requireIdOf(String(input.teamId), 'Team', 'teamId'), published }) })),
  });

builder.mutationFields((t) => ({
  updateWebsiteForm: t.field({
    authScopes: { admin: true },
    type: FormPayload('UpdateWebsiteFormPayload'),
    description: 'Changes a team form: texts, side blocks, fields. ADMIN only.',
    args: { input: t.arg({ type: UpdateWebsiteFormInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        websiteForm: await updateWebsiteForm(ctx.db, {
          teamId: requireIdOf(String(input.teamId), 'Team', 'teamId'),
          title: input.title,
          intro: input.intro,
          successMessage: input.successMessage,
          sideBlocks: input.sideBlocks,
          fields: input.fields?.map(toField),
        }),
      })),
  }),
  publishWebsiteForm: setPublished(t, true, PublishWebsiteFormInput, 'PublishWebsiteFormPayload', 'Makes a team form public at its url. ADMIN only.'),
  unpublishWebsiteForm: setPublished(t, false, UnpublishWebsiteFormInput, 'UnpublishWebsiteFormPayload', 'Takes a team form offline. ADMIN only.'),
  submitWebsiteForm: t.field({
    skipTypeScopes: true,
    type: SubmitWebsiteFormPayload,
    description: 'Submits a published website form. Public: needs no token, returns only the ticket number.',
    args: { input: t.arg({ type: SubmitWebsiteFormInput, required: true, description: 'The answers.' }) },
    resolve: async (_root, { input }, ctx) => {
      const metrics = metricsOf(ctx.db);
      metrics?.formPosts.inc();
      const teamId = idOf(String(input.teamId), 'Team');
      if (teamId === null) {
        metrics?.formRefusals.inc({ reason: 'INVALID_INPUT' });
        return { userErrors: [{ field: ['input', 'teamId'], code: 'INVALID_ID' as const, message: 'teamId must be the ID of a Team.' }] };
      }
      try {
        // Field problems name the field key itself, as the page shows them beside the input.
        const values = Object.fromEntries(input.values.map((v) => [v.key, v.value]));
        return { ...(await submitWebsiteForm(ctx.db, ctx.config, { teamId, values, origin: ctx.client })), userErrors: [] };
      } catch (error) {
        if (!(error instanceof UserInputError)) throw error;
        metrics?.formRefusals.inc({ reason: formRefusalReason(error.errors) });
        return { userErrors: error.errors };
      }
    },
  }),
}));

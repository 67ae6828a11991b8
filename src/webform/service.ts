import { and, eq, lt, ne, or, sql } from 'drizzle-orm';
import { inTransaction, type DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { fail, failRateLimited, UserInputError } from '../errors.js';
import { aliasFromName, findTeam, findTeams, firstFreeAlias, listTeams, type TeamRow } from '../teams/service.js';
import { acknowledgeNewTickets, type AcknowledgementSettings } from '../mail/acknowledge.js';
import { createTicket, type MessageOrigin, type NewAttachment } from '../tickets/service.js';
import { DEFAULT_FIELDS, describeSubmission, validateFormDefinition, validateSubmission, type FormField } from './form.js';
import { formRateCounters, websiteForms, type SideBlock } from './tables.js';
import { isLongerThan } from '../text/clean.js';

export type WebsiteFormRow = typeof websiteForms.$inferSelect;

export interface FormSettings {
  formRateLimitPerHour: number;
  formRateLimitPerDay: number;
}

/** Name of the invisible field bots fill in and people never see. */
export const HONEYPOT_FIELD = 'website_url';

const defaults = (team: TeamRow) => ({
  title: `Contact ${team.name}`,
  intro: '',
  successMessage: 'Thank you: we received your request and will answer soon.',
  sideBlocks: [] as SideBlock[],
  fields: DEFAULT_FIELDS,
});

/**
 * The forms of these teams, in the order given, in one query. Reading writes nothing: a team whose
 * form was never changed gets the default form, unsaved, with the slug it will be saved under
 * (the first free one for its name), so its id and url are the same before and after the first save.
 */
export async function formsOf(db: DbOrTx, teamRows: TeamRow[]): Promise<WebsiteFormRow[]> {
  if (teamRows.length === 0) return [];
  const bases = teamRows.map((team) => aliasFromName(team.name));
  // The saved forms of these teams, and the slugs an unsaved one could clash with. Bases are
  // [a-z0-9._-] (aliasFromName): quoted, they need no escaping, and `_` matching any character only
  // reads a few more slugs. One array parameter keeps one statement whatever the number of teams.
  const rows = await db
    .select()
    .from(websiteForms)
    .where(or(isAnyOf(websiteForms.teamId, teamRows.map((team) => team.id)), sql`${websiteForms.slug} like any(${`{${bases.map((base) => `"${base}%"`).join(',')}}`}::text[])`));
  const saved = new Map(rows.map((row) => [row.teamId, row]));
  const taken = new Set(rows.map((row) => row.slug));
  return teamRows.map((team, i) => {
    const form = saved.get(team.id);
    if (form) return form;
    const slug = firstFreeAlias(bases[i]!, taken);
    taken.add(slug);
    return { teamId: team.id, slug, published: false, ...defaults(team), updatedAt: team.createdAt };
  });
}

/** The team's form row, saved with the defaults first if it never was: for the mutations that change it. */
async function savedFormOf(db: DbOrTx, team: TeamRow): Promise<WebsiteFormRow> {
  const [existing] = await db.select().from(websiteForms).where(eq(websiteForms.teamId, team.id));
  if (existing) return existing;
  return inTransaction(db, async (tx) => {
    const base = aliasFromName(team.name);
    const taken = await tx.select({ slug: websiteForms.slug }).from(websiteForms).where(sql`starts_with(${websiteForms.slug}, ${base})`);
    await tx
      .insert(websiteForms)
      .values({ teamId: team.id, slug: firstFreeAlias(base, taken.map((t) => t.slug)), ...defaults(team) })
      .onConflictDoNothing({ target: websiteForms.teamId });
    const [row] = await tx.select().from(websiteForms).where(eq(websiteForms.teamId, team.id));
    return row!;
  });
}

/** The forms behind these team ids (a WebsiteForm's id is its team's), for `node`; null where no team has the id. */
export async function formsOfTeamIds(db: DbOrTx, teamIds: number[]): Promise<Array<WebsiteFormRow | null>> {
  const found = await findTeams(db, teamIds);
  const forms = new Map((await formsOf(db, found)).map((form) => [form.teamId, form]));
  return teamIds.map((id) => forms.get(id) ?? null);
}

async function teamWithForm(db: DbOrTx, teamId: number): Promise<{ team: TeamRow; form: WebsiteFormRow }> {
  const team = await findTeam(db, teamId);
  if (!team) fail('teamId', 'NOT_FOUND', 'No team has this id.');
  return { team, form: await savedFormOf(db, team) };
}

export interface UpdateWebsiteFormInput {
  teamId: number;
  title?: string | null;
  intro?: string | null;
  successMessage?: string | null;
  sideBlocks?: SideBlock[] | null;
  fields?: FormField[] | null;
}

/** Changes the form; a new field list replaces the old one as a whole, once it passes every rule. */
export async function updateWebsiteForm(db: DbOrTx, input: UpdateWebsiteFormInput): Promise<WebsiteFormRow> {
  const { form } = await teamWithForm(db, input.teamId);
  const problems = input.fields ? validateFormDefinition(input.fields) : [];
  const text = (field: string, value: string | null | undefined, max: number, required: boolean) => {
    if (value == null) return undefined;
    if ((required && !value.trim()) || isLongerThan(value, max)) problems.push({ field: [field], code: 'INVALID_TEXT', message: `${field} must be ${required ? '1' : '0'}–${max} characters.` });
    return value.trim();
  };
  const values = {
    title: text('title', input.title, 200, true),
    intro: text('intro', input.intro, 5000, false),
    successMessage: text('successMessage', input.successMessage, 2000, true),
    sideBlocks: input.sideBlocks ?? undefined,
    fields: input.fields ?? undefined,
  };
  if (input.sideBlocks && (input.sideBlocks.length > 10 || input.sideBlocks.some((b) => isLongerThan(b.title, 200) || isLongerThan(b.body, 5000)))) {
    problems.push({ field: ['sideBlocks'], code: 'INVALID_TEXT', message: 'At most 10 side blocks, titles up to 200 and bodies up to 5000 characters.' });
  }
  if (problems.length) throw new UserInputError(problems);
  const [row] = await db
    .update(websiteForms)
    .set({ ...Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)), updatedAt: new Date() })
    .where(eq(websiteForms.teamId, form.teamId))
    .returning();
  return row!;
}

export async function setWebsiteFormPublished(db: DbOrTx, input: { teamId: number; published: boolean }): Promise<WebsiteFormRow> {
  const { form } = await teamWithForm(db, input.teamId);
  const [row] = await db.update(websiteForms).set({ published: input.published, updatedAt: new Date() }).where(eq(websiteForms.teamId, form.teamId)).returning();
  return row!;
}

/** A form customers can reach: published, and its team's website channel on. */
function isFormAvailable(team: TeamRow | undefined, form: WebsiteFormRow | undefined): boolean {
  return Boolean(team?.useWebsiteForm && form?.published);
}

export async function publicFormBySlug(db: DbOrTx, slug: string): Promise<{ team: TeamRow; form: WebsiteFormRow } | null> {
  const [form] = await db.select().from(websiteForms).where(and(eq(websiteForms.slug, slug), eq(websiteForms.published, true)));
  const team = form ? await findTeam(db, form.teamId) : undefined;
  return isFormAvailable(team, form) ? { team: team!, form: form! } : null;
}

export async function publishedForms(db: DbOrTx): Promise<Array<{ team: TeamRow; form: WebsiteFormRow }>> {
  const [forms, teams] = await Promise.all([db.select().from(websiteForms).where(and(eq(websiteForms.published, true), ne(websiteForms.slug, ''))), listTeams(db)]);
  const teamById = new Map(teams.map((team) => [team.id, team]));
  return forms
    .map((form) => ({ team: teamById.get(form.teamId)!, form }))
    .filter(({ team, form }) => isFormAvailable(team, form))
    .sort((a, b) => a.team.name.localeCompare(b.team.name));
}

/**
 * Counts one submission in the hour and day windows of a client: null while under both limits,
 * else the whole seconds until the full window (the later one when both are) ends.
 * The public page calls it before reading the body, so a refused client costs no parsing.
 */
export async function countFormSubmission(db: DbOrTx, settings: FormSettings, clientAddress: string | null): Promise<number | null> {
  const client = clientAddress ?? 'unknown';
  const bump = async (key: string, window: 'hour' | 'day') => {
    const [row] = await db
      .insert(formRateCounters)
      .values({ clientKey: key, windowStart: sql`date_trunc(${window}, now())`, count: 1 })
      .onConflictDoUpdate({ target: [formRateCounters.clientKey, formRateCounters.windowStart], set: { count: sql`${formRateCounters.count} + 1` } })
      .returning({ count: formRateCounters.count, endsIn: sql<number | string>`extract(epoch from ${formRateCounters.windowStart} + make_interval(${sql.raw(window === 'hour' ? 'hours' : 'days')} => 1) - now())` });
    return { count: row!.count, endsIn: Math.max(1, Math.ceil(Number(row!.endsIn))) };
  };
  const [hour, day] = await Promise.all([bump(`h:${client}`, 'hour'), bump(`d:${client}`, 'day')]);
  // Past windows are worth nothing; now and then one submission sweeps them away.
  if (Math.random() < 0.01) await db.delete(formRateCounters).where(lt(formRateCounters.windowStart, sql`now() - interval '2 days'`));
  const full = [hour.count > settings.formRateLimitPerHour ? hour.endsIn : 0, day.count > settings.formRateLimitPerDay ? day.endsIn : 0];
  return Math.max(...full) || null;
}

export interface Submission {
  teamId: number;
  values: Record<string, string>;
  files?: Record<string, NewAttachment>;
  origin: MessageOrigin;
  /** The caller already counted this submission against the rate limit (the page does, before parsing). */
  rateLimitCounted?: boolean;
}

export const MAX_FILE_BYTES = 10 * 1024 * 1024;
const FILE_TYPES = /^(image\/(png|jpeg|gif|webp)|application\/pdf|text\/plain)$/;

/**
 * A public submission: published form, honeypot, shared rate limit, every field rule on the
 * server, then the one ticket-creation path. Returns only the ticket number.
 */
export async function submitWebsiteForm(db: DbOrTx, settings: FormSettings & AcknowledgementSettings, input: Submission): Promise<{ ticketNumber: number; successMessage: string }> {
  const team = await findTeam(db, input.teamId);
  const [form] = team ? await db.select().from(websiteForms).where(eq(websiteForms.teamId, team.id)) : [];
  if (!team || !form || !isFormAvailable(team, form)) fail(null, 'FORM_NOT_PUBLISHED', 'This form is not available.');
  if (Object.keys(input.values).length > 100) fail('values', 'TOO_MANY', 'At most 100 values.');
  if ((input.values[HONEYPOT_FIELD] ?? '').trim() !== '') fail(null, 'REJECTED', 'The submission was refused.');
  const { problems, ticket } = validateSubmission(form.fields, input.values);
  const attachments: NewAttachment[] = [];
  for (const f of form.fields.filter((f) => f.inputType === 'FILE')) {
    const file = input.files?.[f.key];
    if (!file || file.data.length === 0) {
      if (f.required) problems.push({ field: [f.key], code: 'REQUIRED', message: `${f.label} is required.` });
    } else if (file.data.length > MAX_FILE_BYTES) problems.push({ field: [f.key], code: 'FILE_TOO_LARGE', message: `${f.label} must be at most 10 MB.` });
    else if (!FILE_TYPES.test(file.contentType)) problems.push({ field: [f.key], code: 'FILE_TYPE', message: `${f.label} must be an image, a PDF or a text file.` });
    else attachments.push(file);
  }
  if (problems.length || !ticket) throw new UserInputError(problems);
  const retryAfter = input.rateLimitCounted ? null : await countFormSubmission(db, settings, input.origin.clientAddress);
  if (retryAfter !== null) failRateLimited(null, retryAfter);
  const created = await inTransaction(db, async (tx) => {
    const created = await createTicket(tx, {
      teamId: team.id,
      channel: 'WEBSITE_FORM',
      title: ticket.title,
      description: describeSubmission(ticket),
      priority: ticket.priority,
      customer: { email: ticket.customerEmail, name: ticket.customerName },
      attachments,
      origin: input.origin,
    });
    const email = ticket.customerEmail?.trim();
    const customer = email ? { email, name: ticket.customerName?.trim() || null } : null;
    await acknowledgeNewTickets(tx, settings, [{ ticket: created, customer, language: input.origin.language, automated: null, messageId: null }]);
    return created;
  });
  return { ticketNumber: created.number, successMessage: form.successMessage };
}

/** Why a submission was refused, as a metrics label: a limit, a trap for robots, or the answers. */
export function formRefusalReason(problems: ReadonlyArray<{ code: string }>): 'RATE_LIMITED' | 'REJECTED' | 'FORM_NOT_PUBLISHED' | 'INVALID_INPUT' {
  for (const code of ['RATE_LIMITED', 'REJECTED', 'FORM_NOT_PUBLISHED'] as const) if (problems.some((p) => p.code === code)) return code;
  return 'INVALID_INPUT';
}

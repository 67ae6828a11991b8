import { and, asc, eq, max, ne, or, sql, type Column } from 'drizzle-orm';
import { inTransaction, type DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { ErrorCollector, fail, isUniqueViolation, requiredText } from '../errors.js';
import { changingTeamDirectory, notifyTeamDirectoryChanged } from './directory.js';
import { mailDomains, stages, teams } from './tables.js';
import { afterTeamWrite } from './write-hooks.js';

export type TeamRow = typeof teams.$inferSelect;
export type StageRow = typeof stages.$inferSelect;

/** What the team rules need to know of the installation. */
export interface MailSettings {
  mailDomain: string;
}

export const DEFAULT_STAGES = [
  { name: 'New', closed: false },
  { name: 'In Progress', closed: false },
  { name: 'Solved', closed: true },
  { name: 'Cancelled', closed: true },
] as const;

const MAX_NAME = 120;
const LOCAL_PART = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

/** "Service Après-Vente" → "service-apres-vente": lower case, accents removed, spaces to dashes. */
export function aliasFromName(name: string): string {
  const slug = name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .trim()
    .replace(/\s+/g, '-')
    .replace(/[^a-z0-9._-]/g, '')
    .replace(/([-._])[-._]+/g, '$1')
    .replace(/^[-._]+|[-._]+$/g, '')
    .slice(0, 60)
    .replace(/[-._]+$/g, '');
  return slug || 'team';
}

/** The first of base, base-2, base-3 … that no other team uses on the domain. */
export function firstFreeAlias(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}

async function freeAlias(db: DbOrTx, base: string, domain: string, exceptTeamId?: number): Promise<string> {
  const rows = await db
    .select({ localPart: teams.aliasLocalPart })
    .from(teams)
    .where(
      and(
        eq(teams.aliasDomain, domain),
        or(eq(teams.aliasLocalPart, base), sql`starts_with(${teams.aliasLocalPart}, ${base + '-'})`),
        exceptTeamId === undefined ? undefined : ne(teams.id, exceptTeamId),
      ),
    );
  return firstFreeAlias(base, rows.map((r) => r.localPart!));
}

/** Reads "support" or "support@example.com" into an alias on a domain we receive mail for. */
function parseAlias(errors: ErrorCollector, raw: string, settings: MailSettings, domains: string[]): { localPart: string; domain: string } | null {
  const value = raw.trim().toLowerCase();
  const at = value.lastIndexOf('@');
  const localPart = at === -1 ? value : value.slice(0, at);
  const domain = at === -1 ? settings.mailDomain : value.slice(at + 1);
  if (!LOCAL_PART.test(localPart)) {
    errors.add('emailAlias', 'INVALID_ALIAS', 'emailAlias must be 1–64 letters, digits, dots, dashes or underscores, starting and ending with a letter or digit.');
    return null;
  }
  if (!domains.includes(domain)) {
    errors.add('emailAlias', 'UNKNOWN_DOMAIN', `emailAlias must be on a mail domain of this server: ${domains.join(', ')}.`);
    return null;
  }
  return { localPart, domain };
}

async function assertAliasFree(db: DbOrTx, alias: { localPart: string; domain: string }, exceptTeamId?: number) {
  const [clash] = await db
    .select({ id: teams.id })
    .from(teams)
    .where(
      and(
        eq(teams.aliasDomain, alias.domain),
        eq(teams.aliasLocalPart, alias.localPart),
        exceptTeamId === undefined ? undefined : ne(teams.id, exceptTeamId),
      ),
    );
  if (clash) fail('emailAlias', 'ALIAS_TAKEN', `${alias.localPart}@${alias.domain} is already used by another team.`);
}

/** Two teams racing for one generated alias: the loser simply computes the next free one. */
async function retryOnAliasClash<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= 5 || !isUniqueViolation(error, 'teams_alias_unique')) throw error;
    }
  }
}

export interface CreateTeamInput {
  name: string;
  useEmailAlias?: boolean | null;
  useWebsiteForm?: boolean | null;
  useLiveChat?: boolean | null;
  emailAlias?: string | null;
  acknowledgeNewTickets?: boolean | null;
}

export async function createTeam(db: DbOrTx, settings: MailSettings, input: CreateTeamInput): Promise<TeamRow> {
  const errors = new ErrorCollector();
  const name = requiredText(errors, 'name', input.name, MAX_NAME);
  const explicitAlias = input.emailAlias ? parseAlias(errors, input.emailAlias, settings, await listMailDomains(db, settings)) : null;
  errors.throwIfAny();

  return changingTeamDirectory(db, () => retryOnAliasClash(() =>
    inTransaction(db, async (tx) => {
      // Every team reserves an alias, even with the channel off, so switching it on needs no choice.
      let alias = explicitAlias;
      if (alias) await assertAliasFree(tx, alias);
      else alias = { localPart: await freeAlias(tx, aliasFromName(name), settings.mailDomain), domain: settings.mailDomain };
      const [team] = await tx
        .insert(teams)
        .values({
          name,
          useEmailAlias: input.useEmailAlias ?? true,
          useWebsiteForm: input.useWebsiteForm ?? false,
          useLiveChat: input.useLiveChat ?? false,
          acknowledgeNewTickets: input.acknowledgeNewTickets ?? false,
          aliasLocalPart: alias.localPart,
          aliasDomain: alias.domain,
        })
        .returning();
      await tx.insert(stages).values(DEFAULT_STAGES.map((s, i) => ({ teamId: team!.id, name: s.name, closed: s.closed, sequence: i + 1 })));
      await afterTeamWrite(tx, team!);
      await notifyTeamDirectoryChanged(tx);
      return team!;
    }),
  ));
}

export interface UpdateTeamInput {
  id: number;
  name?: string | null;
  useEmailAlias?: boolean | null;
  useWebsiteForm?: boolean | null;
  useLiveChat?: boolean | null;
  useSla?: boolean | null;
  acknowledgeNewTickets?: boolean | null;
  /** undefined leaves the alias alone; null or "" clears it (restored from the name while the channel is on). */
  emailAlias?: string | null;
  emailAliasContactPolicy?: ContactPolicy | null;
  /** undefined leaves it alone; null or "" restores the default text. */
  emailAliasRefusalText?: string | null;
}

export type ContactPolicy = TeamRow['aliasContactPolicy'];

export const DEFAULT_REFUSAL_TEXT = 'This address only accepts mail from known customers.';

export async function updateTeam(db: DbOrTx, settings: MailSettings, input: UpdateTeamInput): Promise<TeamRow> {
  const errors = new ErrorCollector();
  const name = input.name === undefined || input.name === null ? undefined : requiredText(errors, 'name', input.name, MAX_NAME);
  const cleared = input.emailAlias !== undefined && (input.emailAlias === null || input.emailAlias.trim() === '');
  const explicitAlias = input.emailAlias && !cleared ? parseAlias(errors, input.emailAlias, settings, await listMailDomains(db, settings)) : null;
  const refusalText = input.emailAliasRefusalText === undefined ? undefined : input.emailAliasRefusalText?.trim() || null;
  // The text travels in an SMTP reply line: one line, printable, short.
  if (refusalText && (refusalText.length > 300 || /[\r\n]/.test(refusalText) || !/^[\x20-\x7e]*$/.test(refusalText))) {
    errors.add('emailAliasRefusalText', 'INVALID_TEXT', 'emailAliasRefusalText must be one line of at most 300 printable ASCII characters.');
  }
  errors.throwIfAny();

  return changingTeamDirectory(db, () => retryOnAliasClash(() =>
    inTransaction(db, async (tx) => {
      const current = await lockTeam(tx, input.id, 'id');
      const next = {
        name: name ?? current.name,
        useEmailAlias: input.useEmailAlias ?? current.useEmailAlias,
        useWebsiteForm: input.useWebsiteForm ?? current.useWebsiteForm,
        useLiveChat: input.useLiveChat ?? current.useLiveChat,
        useSla: input.useSla ?? current.useSla,
        acknowledgeNewTickets: input.acknowledgeNewTickets ?? current.acknowledgeNewTickets,
        aliasLocalPart: current.aliasLocalPart,
        aliasDomain: current.aliasDomain,
        aliasContactPolicy: input.emailAliasContactPolicy ?? current.aliasContactPolicy,
        aliasRefusalText: refusalText === undefined ? current.aliasRefusalText : refusalText,
      };
      if (explicitAlias) {
        await assertAliasFree(tx, explicitAlias, current.id);
        next.aliasLocalPart = explicitAlias.localPart;
        next.aliasDomain = explicitAlias.domain;
      } else if (cleared || next.aliasLocalPart === null) {
        if (next.useEmailAlias) {
          next.aliasLocalPart = await freeAlias(tx, aliasFromName(next.name), settings.mailDomain, current.id);
          next.aliasDomain = settings.mailDomain;
        } else {
          next.aliasLocalPart = null;
          next.aliasDomain = null;
        }
      }
      const [team] = await tx
        .update(teams)
        .set({ ...next, updatedAt: sql`now()` })
        .where(eq(teams.id, current.id))
        .returning();
      await afterTeamWrite(tx, team!);
      await notifyTeamDirectoryChanged(tx);
      return team!;
    }),
  ));
}

/** Locks a team for a change, or fails with NOT_FOUND on the given input field. */
async function lockTeam(tx: DbOrTx, id: number, field: string): Promise<TeamRow> {
  const [team] = await tx.select().from(teams).where(eq(teams.id, id)).for('update');
  if (!team) fail(field, 'NOT_FOUND', 'No team has this id.');
  return team;
}

export async function findTeam(db: DbOrTx, id: number): Promise<TeamRow | undefined> {
  const [team] = await db.select().from(teams).where(eq(teams.id, id));
  return team;
}

/** Several teams by id, in one query; ids without a team are left out. */
export async function findTeams(db: DbOrTx, ids: number[]): Promise<TeamRow[]> {
  return ids.length ? db.select().from(teams).where(isAnyOf(teams.id, ids)) : [];
}

export async function countTeams(db: DbOrTx): Promise<number> {
  return db.$count(teams);
}

export async function findStage(db: DbOrTx, id: number): Promise<StageRow | undefined> {
  const [stage] = await db.select().from(stages).where(eq(stages.id, id));
  return stage;
}

/** Several stages by id, in one query; ids without a stage are left out. */
export async function findStages(db: DbOrTx, ids: number[]): Promise<StageRow[]> {
  return ids.length ? db.select().from(stages).where(isAnyOf(stages.id, ids)) : [];
}

export async function createStage(db: DbOrTx, input: { teamId: number; name: string; closed?: boolean | null }): Promise<StageRow> {
  const errors = new ErrorCollector();
  const name = requiredText(errors, 'name', input.name, 80);
  errors.throwIfAny();
  return inTransaction(db, async (tx) => {
    // Locking the team serialises concurrent additions, so sequences stay distinct.
    const team = await lockTeam(tx, input.teamId, 'teamId');
    const [last] = await tx.select({ sequence: max(stages.sequence) }).from(stages).where(eq(stages.teamId, team.id));
    const [stage] = await tx
      .insert(stages)
      .values({ teamId: team.id, name, closed: input.closed ?? false, sequence: (last?.sequence ?? 0) + 1 })
      .returning();
    return stage!;
  });
}

export async function updateStage(db: DbOrTx, input: { stageId: number; name?: string | null; closed?: boolean | null }): Promise<StageRow> {
  const errors = new ErrorCollector();
  const name = input.name === undefined || input.name === null ? undefined : requiredText(errors, 'name', input.name, 80);
  errors.throwIfAny();
  const [stage] = await db
    .update(stages)
    .set({ ...(name === undefined ? {} : { name }), ...(input.closed == null ? {} : { closed: input.closed }) })
    .where(eq(stages.id, input.stageId))
    .returning();
  if (!stage) fail('stageId', 'NOT_FOUND', 'No stage has this id.');
  return stage;
}

/** Sets the order of a team's stages; stageIds must list each of them exactly once. */
export async function reorderStages(db: DbOrTx, input: { teamId: number; stageIds: number[] }): Promise<StageRow[]> {
  return inTransaction(db, async (tx) => {
    const team = await lockTeam(tx, input.teamId, 'teamId');
    const existing = await tx.select({ id: stages.id }).from(stages).where(eq(stages.teamId, team.id));
    const wanted = new Set(input.stageIds);
    if (wanted.size !== input.stageIds.length || wanted.size !== existing.length || existing.some((s) => !wanted.has(s.id))) {
      fail('stageIds', 'INVALID_ORDER', 'stageIds must list every stage of the team exactly once.');
    }
    for (const [index, id] of input.stageIds.entries()) {
      await tx.update(stages).set({ sequence: index + 1 }).where(eq(stages.id, id));
    }
    return tx.select().from(stages).where(eq(stages.teamId, team.id)).orderBy(asc(stages.sequence));
  });
}

export async function listTeams(db: DbOrTx): Promise<TeamRow[]> {
  return db.select().from(teams).orderBy(asc(teams.name), asc(teams.id));
}

/** MAIL_DOMAIN first, then the domains added through the API. */
export async function listMailDomains(db: DbOrTx, settings: MailSettings): Promise<string[]> {
  const rows = await db.select({ domain: mailDomains.domain }).from(mailDomains).orderBy(asc(mailDomains.domain));
  return [settings.mailDomain, ...rows.map((r) => r.domain).filter((d) => d !== settings.mailDomain)];
}

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** "Support.Example.COM." → "support.example.com": how domains are compared and stored. */
function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

export async function addMailDomain(db: DbOrTx, settings: MailSettings, input: { domain: string }): Promise<string[]> {
  const domain = normalizeDomain(input.domain);
  if (!DOMAIN.test(domain)) fail('domain', 'INVALID_DOMAIN', 'domain must be a host name such as support.example.com.');
  if (domain !== settings.mailDomain) {
    await changingTeamDirectory(db, () =>
      inTransaction(db, async (tx) => {
        const added = await tx.insert(mailDomains).values({ domain }).onConflictDoNothing().returning({ id: mailDomains.id });
        if (added.length) await notifyTeamDirectoryChanged(tx);
      }),
    );
  }
  return listMailDomains(db, settings);
}

export async function removeMailDomain(db: DbOrTx, settings: MailSettings, input: { domain: string }): Promise<string[]> {
  const domain = normalizeDomain(input.domain);
  if (domain === settings.mailDomain) fail('domain', 'DEFAULT_DOMAIN', 'MAIL_DOMAIN is set by the server configuration and cannot be removed.');
  await changingTeamDirectory(db, () =>
    inTransaction(db, async (tx) => {
      const [user] = await tx.select({ name: teams.name }).from(teams).where(eq(teams.aliasDomain, domain)).limit(1);
      if (user) fail('domain', 'DOMAIN_IN_USE', `The team ${user.name} still has an alias on ${domain}: change it first.`);
      const removed = await tx.delete(mailDomains).where(eq(mailDomains.domain, domain)).returning();
      if (removed.length === 0) fail('domain', 'NOT_FOUND', `${domain} is not a mail domain of this server.`);
      await notifyTeamDirectoryChanged(tx);
    }),
  );
  return listMailDomains(db, settings);
}

/** The team's first stage that is not closed: where a reopened ticket goes. */
export async function firstOpenStageOf(db: DbOrTx, teamId: number): Promise<StageRow | undefined> {
  const [stage] = await db
    .select()
    .from(stages)
    .where(and(eq(stages.teamId, teamId), eq(stages.closed, false)))
    .orderBy(asc(stages.sequence), asc(stages.id))
    .limit(1);
  return stage;
}

/** A team's pipeline, in order. */
export async function stagesOf(db: DbOrTx, teamId: number): Promise<StageRow[]> {
  return db.select().from(stages).where(eq(stages.teamId, teamId)).orderBy(asc(stages.sequence), asc(stages.id));
}

/**
 * What another capability's query needs to show each row's stage in the same statement (the
 * ticket list): the stages table to select from and the join condition on a stage id column.
 */
export function stageJoin(stageId: Column) {
  return { table: stages, on: eq(stages.id, stageId) };
}

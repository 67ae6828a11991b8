/**
 * Chatbot scripts as data: create, update (steps and answers replaced in one transaction, rows
 * matched by their client key so ids survive), delete, duplicate, page through, and load a
 * script whole for the engine. Knows nothing of live chat: rules point at scripts, not back.
 */
import { and, asc, eq, gt, inArray, notInArray, sql } from 'drizzle-orm';
import { inTransaction, queryRows, type DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { defineKeyset, pageOf, type PageRequest } from '../db/keyset.js';
import { fail, UserInputError } from '../errors.js';
import { findTeams } from '../teams/service.js';
import { cutByCodePoints } from '../text/clean.js';
import { CHATBOT_LIMITS, checkChatbotScript, checkChatbotSteps, checkChatbotTitle, type ChatbotScriptInput, type ChatbotScriptPlan, type ChatbotStepInput } from './definition.js';
import type { ChatbotAnswerDef, ChatbotScriptDef, ChatbotStepDef } from './engine.js';
import { chatbotAnswers, chatbotScripts, chatbotSteps, type ChatbotAnswerRow, type ChatbotScriptRow, type ChatbotStepRow } from './tables.js';

export type { ChatbotAnswerRow, ChatbotScriptRow, ChatbotStepRow };

// ---------------------------------------------------------------- reading

export async function findChatbotScript(db: DbOrTx, id: number): Promise<ChatbotScriptRow | undefined> {
  const [script] = await db.select().from(chatbotScripts).where(eq(chatbotScripts.id, id));
  return script;
}

export async function findChatbotScripts(db: DbOrTx, ids: readonly number[]): Promise<ChatbotScriptRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(chatbotScripts)
    .where(isAnyOf(chatbotScripts.id, [...new Set(ids)]));
}

/** A step with its answers, as the API shows it. */
export type ChatbotStepWithAnswers = ChatbotStepRow & { answers: ChatbotAnswerRow[] };

/** The steps of these scripts, each list by sequence, each step's answers by sequence: two queries. */
export async function stepsOfScripts(db: DbOrTx, scriptIds: readonly number[]): Promise<Map<number, ChatbotStepWithAnswers[]>> {
  const byScript = new Map<number, ChatbotStepWithAnswers[]>(scriptIds.map((id) => [id, []]));
  if (scriptIds.length === 0) return byScript;
  const ids = [...new Set(scriptIds)];
  const [steps, answers] = await Promise.all([
    db.select().from(chatbotSteps).where(isAnyOf(chatbotSteps.scriptId, ids)).orderBy(asc(chatbotSteps.scriptId), asc(chatbotSteps.sequence), asc(chatbotSteps.id)),
    db.select().from(chatbotAnswers).where(isAnyOf(chatbotAnswers.scriptId, ids)).orderBy(asc(chatbotAnswers.stepId), asc(chatbotAnswers.sequence), asc(chatbotAnswers.id)),
  ]);
  const answersOf = new Map<number, ChatbotAnswerRow[]>();
  for (const answer of answers) answersOf.set(answer.stepId, [...(answersOf.get(answer.stepId) ?? []), answer]);
  for (const step of steps) byScript.get(step.scriptId)?.push({ ...step, answers: answersOf.get(step.id) ?? [] });
  return byScript;
}

const toDefinition = (script: ChatbotScriptRow, steps: ChatbotStepWithAnswers[]): ChatbotScriptDef => ({
  id: script.id,
  title: script.title,
  steps: steps.map(
    (s): ChatbotStepDef => ({
      id: s.id,
      key: s.key,
      sequence: s.sequence,
      type: s.type,
      message: s.message,
      ticketTeamId: s.ticketTeamId,
      onlyIfAnswerIds: s.onlyIfAnswerIds,
      answers: s.answers.map((a): ChatbotAnswerDef => ({ id: a.id, key: a.key, label: a.label, redirectUrl: a.redirectUrl })),
    }),
  ),
});

/** A script whole, as the engine reads it (steps by sequence, with answers and conditions); null when no script has the id. */
export async function loadChatbotScript(db: DbOrTx, scriptId: number): Promise<ChatbotScriptDef | null> {
  return (await loadChatbotScripts(db, [scriptId])).get(scriptId) ?? null;
}

/** Several scripts whole, by id (missing ids left out): three queries whatever their number. */
export async function loadChatbotScripts(db: DbOrTx, scriptIds: readonly number[]): Promise<Map<number, ChatbotScriptDef>> {
  const [scripts, steps] = await Promise.all([findChatbotScripts(db, scriptIds), stepsOfScripts(db, scriptIds)]);
  return new Map(scripts.map((script) => [script.id, toDefinition(script, steps.get(script.id) ?? [])]));
}

/** The answers with these ids (any script), for messages that offer them as buttons: id → answer. */
export async function findChatbotAnswers(db: DbOrTx, answerIds: readonly number[]): Promise<Map<number, ChatbotAnswerRow>> {
  if (answerIds.length === 0) return new Map();
  const rows = await db
    .select()
    .from(chatbotAnswers)
    .where(isAnyOf(chatbotAnswers.id, [...new Set(answerIds)]));
  return new Map(rows.map((row) => [row.id, row]));
}

/** Scripts, oldest first; a cursor is `script:<id>`. */
const scriptKeyset = defineKeyset({
  prefix: 'script',
  direction: 'asc',
  parts: [{ name: 'id', column: chatbotScripts.id, kind: 'int', sqlType: 'int', max: 2_147_483_647 }],
});

export const chatbotScriptCursor = (script: ChatbotScriptRow) => scriptKeyset.cursorOf(script);

/** A page of every script, oldest first; a forged cursor fails with INVALID_CURSOR. */
export async function chatbotScriptsPage(db: DbOrTx, request: PageRequest) {
  const plan = scriptKeyset.plan({ first: request.first, after: request.after });
  const rows = await db
    .select()
    .from(chatbotScripts)
    .where(plan.cursor ? gt(chatbotScripts.id, plan.cursor.id) : undefined)
    .orderBy(...scriptKeyset.order(false))
    .limit(plan.size + 1);
  return { ...pageOf(rows, plan), totalCount: () => db.$count(chatbotScripts) };
}

// ---------------------------------------------------------------- writing

/** Refuses a plan naming teams that do not exist, at the step's ticketTeamId. */
async function checkTeams(db: DbOrTx, plan: ChatbotScriptPlan['steps']): Promise<void> {
  const wanted = plan.flatMap((s) => (s.ticketTeamId === null ? [] : [s.ticketTeamId]));
  if (wanted.length === 0) return;
  const found = new Set((await findTeams(db, [...new Set(wanted)])).map((t) => t.id));
  const problems = plan.flatMap((s, i) =>
    s.ticketTeamId !== null && !found.has(s.ticketTeamId) ? [{ field: ['steps', String(i), 'ticketTeamId'], code: 'NOT_FOUND' as const, message: 'No team has this id.' }] : [],
  );
  if (problems.length > 0) throw new UserInputError(problems);
}

/** Fresh ids of a table's identity, so rows can name each other (conditions → answers) before they are written. */
async function freshIds(tx: DbOrTx, table: 'chatbot_steps' | 'chatbot_answers', count: number): Promise<number[]> {
  if (count === 0) return [];
  const rows = await queryRows<{ id: number }>(tx, sql`select nextval(pg_get_serial_sequence(${table}, 'id'))::int as id from generate_series(1, ${count}::int)`);
  return rows.map((r) => Number(r.id));
}

/**
 * Makes the script's steps and answers what the plan says, in the caller's transaction (the
 * script's row locked): a step or answer whose key is already in the script keeps its row and
 * id (an answer may move to another step), others are added, the rest removed.
 */
async function replaceSteps(tx: DbOrTx, scriptId: number, plan: ChatbotScriptPlan['steps']): Promise<void> {
  const [oldSteps, oldAnswers] = await Promise.all([
    tx.select({ id: chatbotSteps.id, key: chatbotSteps.key }).from(chatbotSteps).where(eq(chatbotSteps.scriptId, scriptId)),
    tx.select({ id: chatbotAnswers.id, key: chatbotAnswers.key }).from(chatbotAnswers).where(eq(chatbotAnswers.scriptId, scriptId)),
  ]);
  const stepIdOf = new Map(oldSteps.map((s) => [s.key, s.id]));
  const answerIdOf = new Map(oldAnswers.map((a) => [a.key, a.id]));
  const keptStepIds = new Set<number>();
  const keptAnswerIds = new Set<number>();
  for (const step of plan) {
    const id = stepIdOf.get(step.key);
    if (id !== undefined) keptStepIds.add(id);
    for (const answer of step.answers) {
      const answerId = answerIdOf.get(answer.key);
      if (answerId !== undefined) keptAnswerIds.add(answerId);
    }
  }
  const newStepKeys = plan.filter((s) => !stepIdOf.has(s.key)).map((s) => s.key);
  const newAnswerKeys = plan.flatMap((s) => s.answers.filter((a) => !answerIdOf.has(a.key)).map((a) => a.key));
  const [stepIds, answerIds] = await Promise.all([freshIds(tx, 'chatbot_steps', newStepKeys.length), freshIds(tx, 'chatbot_answers', newAnswerKeys.length)]);
  newStepKeys.forEach((key, i) => stepIdOf.set(key, stepIds[i]!));
  newAnswerKeys.forEach((key, i) => answerIdOf.set(key, answerIds[i]!));

  // Answers and steps no longer in the script go first (a removed step takes its remaining answers along).
  await tx.delete(chatbotAnswers).where(and(eq(chatbotAnswers.scriptId, scriptId), keptAnswerIds.size > 0 ? notInArray(chatbotAnswers.id, [...keptAnswerIds]) : undefined));
  const stepRows = plan.map((step, i) => ({
    id: stepIdOf.get(step.key)!,
    scriptId,
    key: step.key,
    sequence: i + 1,
    type: step.type,
    message: step.message,
    ticketTeamId: step.ticketTeamId,
    onlyIfAnswerIds: step.onlyIfKeys.map((key) => answerIdOf.get(key)!),
  }));
  const answerRows = plan.flatMap((step) =>
    step.answers.map((answer, j) => ({ id: answerIdOf.get(answer.key)!, stepId: stepIdOf.get(step.key)!, scriptId, key: answer.key, sequence: j + 1, label: answer.label, redirectUrl: answer.redirectUrl })),
  );
  // One statement per table: kept rows are updated in place (their ids stay), new ones inserted with their fresh ids.
  if (stepRows.length > 0) {
    await tx
      .insert(chatbotSteps)
      .overridingSystemValue()
      .values(stepRows)
      .onConflictDoUpdate({
        target: chatbotSteps.id,
        set: {
          sequence: sql`excluded.sequence`,
          type: sql`excluded.type`,
          message: sql`excluded.message`,
          ticketTeamId: sql`excluded.ticket_team_id`,
          onlyIfAnswerIds: sql`excluded.only_if_answer_ids`,
        },
      });
  }
  if (answerRows.length > 0) {
    await tx
      .insert(chatbotAnswers)
      .overridingSystemValue()
      .values(answerRows)
      .onConflictDoUpdate({
        target: chatbotAnswers.id,
        set: { stepId: sql`excluded.step_id`, sequence: sql`excluded.sequence`, label: sql`excluded.label`, redirectUrl: sql`excluded.redirect_url` },
      });
  }
  const keepSteps = stepRows.map((s) => s.id);
  await tx.delete(chatbotSteps).where(and(eq(chatbotSteps.scriptId, scriptId), keepSteps.length > 0 ? notInArray(chatbotSteps.id, keepSteps) : undefined));
}

function planOrThrow(input: ChatbotScriptInput): ChatbotScriptPlan {
  const checked = checkChatbotScript(input);
  if (!checked.plan) throw new UserInputError(checked.problems);
  return checked.plan;
}

/** A new script with its steps and answers, checked as a whole (every problem at once, by input path). */
export async function createChatbotScript(db: DbOrTx, input: ChatbotScriptInput): Promise<ChatbotScriptRow> {
  const plan = planOrThrow(input);
  await checkTeams(db, plan.steps);
  return inTransaction(db, async (tx) => {
    const [script] = await tx.insert(chatbotScripts).values({ title: plan.title }).returning();
    await replaceSteps(tx, script!.id, plan.steps);
    return script!;
  });
}

export interface UpdateChatbotScriptInput {
  title?: string | null;
  /** The whole new list: steps and answers replaced atomically; keys already in the script keep their ids. */
  steps?: readonly ChatbotStepInput[] | null;
}

/** Changes a script's title and/or replaces its steps, in one transaction; NOT_FOUND on scriptId. */
export async function updateChatbotScript(db: DbOrTx, scriptId: number, input: UpdateChatbotScriptInput): Promise<ChatbotScriptRow> {
  const problems: UserInputError['errors'] = [];
  const title = input.title != null ? checkChatbotTitle(input.title, problems) : null;
  const steps = input.steps != null ? checkChatbotSteps(input.steps, problems) : null;
  if (problems.length > 0) throw new UserInputError(problems);
  if (steps) await checkTeams(db, steps);
  return inTransaction(db, async (tx) => {
    const [locked] = await tx.select().from(chatbotScripts).where(eq(chatbotScripts.id, scriptId)).for('update');
    if (!locked) fail('scriptId', 'NOT_FOUND', 'No chatbot script has this id.');
    if (steps) await replaceSteps(tx, scriptId, steps);
    const [script] = await tx
      .update(chatbotScripts)
      .set({ ...(title !== null ? { title } : {}), updatedAt: sql`now()` })
      .where(eq(chatbotScripts.id, scriptId))
      .returning();
    return script!;
  });
}

/** PostgreSQL restrict_violation (ON DELETE RESTRICT) or foreign_key_violation on the named constraint. */
function isForeignKeyViolation(error: unknown, constraint: string): boolean {
  let e: any = error;
  while (e) {
    if ((e.code === '23001' || e.code === '23503') && (e.constraint_name === constraint || e.constraint === constraint)) return true;
    e = e.cause;
  }
  return false;
}

/** The live chat rules' foreign key (RESTRICT): a script a rule attaches cannot go. */
const RULE_SCRIPT_FOREIGN_KEY = 'live_chat_rules_chatbot_script_id_chatbot_scripts_id_fkey';

/**
 * Deletes a script with its steps and answers. SCRIPT_IN_USE while a rule attaches it: the
 * database's foreign key says so, so a rule attaching it meanwhile cannot slip through.
 */
export async function deleteChatbotScript(db: DbOrTx, scriptId: number): Promise<ChatbotScriptRow> {
  let deleted: ChatbotScriptRow | undefined;
  try {
    deleted = await inTransaction(db, async (tx) => (await tx.delete(chatbotScripts).where(eq(chatbotScripts.id, scriptId)).returning())[0]);
  } catch (error) {
    if (isForeignKeyViolation(error, RULE_SCRIPT_FOREIGN_KEY)) fail('scriptId', 'SCRIPT_IN_USE', 'A live chat rule attaches this script: detach it from every rule first.');
    throw error;
  }
  if (!deleted) fail('scriptId', 'NOT_FOUND', 'No chatbot script has this id.');
  return deleted;
}

/** The title of a copy: "<title> (copy)", cut to the title's limit. */
export function copyTitle(title: string): string {
  const suffix = ' (copy)';
  return `${cutByCodePoints(title, CHATBOT_LIMITS.title - suffix.length)}${suffix}`;
}

/** A copy of a script under a new id, its steps, answers and conditions copied (new ids, same keys). */
export async function duplicateChatbotScript(db: DbOrTx, scriptId: number): Promise<ChatbotScriptRow> {
  return inTransaction(db, async (tx) => {
    const source = await loadChatbotScript(tx, scriptId);
    if (!source) fail('scriptId', 'NOT_FOUND', 'No chatbot script has this id.');
    const keyOfAnswer = new Map(source.steps.flatMap((s) => s.answers.map((a) => [a.id, a.key] as const)));
    const [copy] = await tx.insert(chatbotScripts).values({ title: copyTitle(source.title) }).returning();
    await replaceSteps(
      tx,
      copy!.id,
      source.steps.map((s) => ({
        key: s.key,
        type: s.type,
        message: s.message,
        ticketTeamId: s.ticketTeamId,
        onlyIfKeys: s.onlyIfAnswerIds.flatMap((id) => (keyOfAnswer.has(id) ? [keyOfAnswer.get(id)!] : [])),
        answers: s.answers.map((a) => ({ key: a.key, label: a.label, redirectUrl: a.redirectUrl })),
      })),
    );
    return copy!;
  });
}

/** Which of these ids are scripts: for rules that attach one. */
export async function existingChatbotScriptIds(db: DbOrTx, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: chatbotScripts.id })
    .from(chatbotScripts)
    .where(inArray(chatbotScripts.id, [...new Set(ids)]));
  return new Set(rows.map((r) => r.id));
}

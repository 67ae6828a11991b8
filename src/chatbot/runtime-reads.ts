import { asc, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { chatbotAnswers } from './tables.js';

/** The answers of these steps, each list in order (a bot question's buttons), in one query. */
export async function answersOfSteps(db: DbOrTx, stepIds: readonly number[]): Promise<Map<number, (typeof chatbotAnswers.$inferSelect)[]>> {
  const ids = [...new Set(stepIds)];
  const byStep = new Map<number, (typeof chatbotAnswers.$inferSelect)[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return byStep;
  const rows = await db.select().from(chatbotAnswers).where(inArray(chatbotAnswers.stepId, ids)).orderBy(asc(chatbotAnswers.sequence), asc(chatbotAnswers.id));
  for (const row of rows) byStep.get(row.stepId)?.push(row);
  return byStep;
}

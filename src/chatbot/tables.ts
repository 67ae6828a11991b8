import { index, integer, pgEnum, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAtColumn, idColumn, updatedAtColumn } from '../db/columns.js';
import { teams } from '../teams/tables.js';
import { CHATBOT_STEP_TYPES } from './engine.js';

export const chatbotStepType = pgEnum('chatbot_step_type', CHATBOT_STEP_TYPES);

/** A chatbot script: its title is the bot's name in the chat. Shared by the channels whose rules attach it. */
export const chatbotScripts = pgTable('chatbot_scripts', {
  id: idColumn(),
  title: text('title').notNull(),
  createdAt: createdAtColumn(),
  updatedAt: updatedAtColumn(),
});

/**
 * The ordered steps of a script. An update replaces them all in one transaction; a step whose
 * client key is unchanged keeps its row (and id), so a running session's place survives an edit.
 */
export const chatbotSteps = pgTable(
  'chatbot_steps',
  {
    id: idColumn(),
    scriptId: integer('script_id')
      .notNull()
      .references(() => chatbotScripts.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    // 1, 2, 3 … in the script's order.
    sequence: integer('sequence').notNull(),
    type: chatbotStepType('type').notNull(),
    message: text('message').notNull().default(''),
    // CREATE_TICKET: the team of the ticket; null: the channel's team.
    ticketTeamId: integer('ticket_team_id').references(() => teams.id, { onDelete: 'set null' }),
    // Answers (of earlier QUESTION_SELECTION steps of the same script) that must have been chosen:
    // any of one step's (OR), one of each step's (AND). Empty: always.
    onlyIfAnswerIds: integer('only_if_answer_ids').array().notNull().default([]),
  },
  (t) => [uniqueIndex('chatbot_steps_script_key').on(t.scriptId, t.key), index('chatbot_steps_script_sequence').on(t.scriptId, t.sequence)],
);

/** The buttons of a QUESTION_SELECTION step; an answer whose client key is unchanged keeps its id across updates. */
export const chatbotAnswers = pgTable(
  'chatbot_answers',
  {
    id: idColumn(),
    stepId: integer('step_id')
      .notNull()
      .references(() => chatbotSteps.id, { onDelete: 'cascade' }),
    // The step's script, so keys are unique per script and a script's answers load in one read.
    scriptId: integer('script_id')
      .notNull()
      .references(() => chatbotScripts.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    // 1, 2, 3 … within the step.
    sequence: integer('sequence').notNull(),
    label: text('label').notNull(),
    // Choosing the answer ends the script by sending the visitor here (http or https).
    redirectUrl: text('redirect_url'),
  },
  (t) => [uniqueIndex('chatbot_answers_script_key').on(t.scriptId, t.key), index('chatbot_answers_step').on(t.stepId, t.sequence)],
);

export type ChatbotScriptRow = typeof chatbotScripts.$inferSelect;
export type ChatbotStepRow = typeof chatbotSteps.$inferSelect;
export type ChatbotAnswerRow = typeof chatbotAnswers.$inferSelect;

import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatbotOfVisit } from '../../src/livechat/widget.js';
import { loadChatbotScript } from '../../src/chatbot/service.js';
import { createTeam } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { addOperators, createChatTeam, createOperator, request, USER_ERRORS } from '../livechat/support.js';

/** Chatbot scripts through the GraphQL API: create, read, page, update, delete, duplicate, and rules that attach them. */

let server: TestServer;
let ticketTeamId: string;

beforeAll(async () => {
  server = await startTestServer();
  ticketTeamId = (await createTeam(server, 'Bot tickets')).id;
});
afterAll(async () => {
  await server?.stop();
});

const SCRIPT_FIELDS = `id title usedByRules steps { id key sequence message type onlyIfAnswerIds ticketTeam { id name } answers { id key label redirectUrl } }`;

const CREATE = `mutation ($input: CreateChatbotScriptInput!) { createChatbotScript(input: $input) { script { ${SCRIPT_FIELDS} } ${USER_ERRORS} } }`;
const UPDATE = `mutation ($input: UpdateChatbotScriptInput!) { updateChatbotScript(input: $input) { script { ${SCRIPT_FIELDS} } ${USER_ERRORS} } }`;
const DELETE = `mutation ($input: DeleteChatbotScriptInput!) { deleteChatbotScript(input: $input) { deletedId ${USER_ERRORS} } }`;
const DUPLICATE = `mutation ($input: DuplicateChatbotScriptInput!) { duplicateChatbotScript(input: $input) { script { ${SCRIPT_FIELDS} } ${USER_ERRORS} } }`;
const READ = `query ($id: ID!) { node(id: $id) { ... on ChatbotScript { ${SCRIPT_FIELDS} } } }`;

/** The Odoo documentation's example: greeting, a selection (pricing redirects), a bug path to an email and a ticket, a sales path to an operator. */
const odooSteps = () => [
  { key: 'hello', type: 'TEXT', message: 'Hello! I am the bot.' },
  {
    key: 'topic',
    type: 'QUESTION_SELECTION',
    message: 'What brings you here?',
    answers: [
      { key: 'pricing', label: 'Pricing', redirectUrl: 'https://example.com/pricing' },
      { key: 'bug', label: 'I found a bug' },
      { key: 'sales', label: 'Talk to sales' },
    ],
  },
  { key: 'describe', type: 'FREE_INPUT_SINGLE', message: 'Describe the bug.', onlyIf: ['bug'] },
  { key: 'email', type: 'QUESTION_EMAIL', message: 'Your email?', onlyIf: ['bug'] },
  { key: 'ticket', type: 'CREATE_TICKET', onlyIf: ['bug'], ticketTeamId: null as string | null },
  { key: 'forward', type: 'FORWARD_OPERATOR', message: 'Let me find someone.', onlyIf: ['sales'] },
];

async function create(input: Record<string, unknown>, token?: string | null) {
  const { createChatbotScript } = await request(server, token === undefined ? (undefined as any) : token, CREATE, { input });
  return createChatbotScript as { script: any; userErrors: any[] };
}
async function createOk(input: Record<string, unknown>) {
  const result = await create(input);
  expect(result.userErrors).toEqual([]);
  return result.script;
}
async function update(input: Record<string, unknown>) {
  const { updateChatbotScript } = await request(server, undefined as any, UPDATE, { input });
  return updateChatbotScript as { script: any; userErrors: any[] };
}
async function read(id: string) {
  const { node } = await request(server, undefined as any, READ, { id });
  return node;
}
const stepOf = (script: any, key: string) => script.steps.find((s: any) => s.key === key);
const answerOf = (script: any, key: string) => script.steps.flatMap((s: any) => s.answers).find((a: any) => a.key === key);

describe('createChatbotScript', () => {
  it('writes a whole script with its branches in one call, and reads it back', async () => {
    const steps = odooSteps();
    steps[4]!.ticketTeamId = ticketTeamId;
    const script = await createOk({ title: '  Odoo   Bot ', steps });
    expect(script.title).toBe('Odoo Bot');
    expect(script.usedByRules).toBe(0);
    expect(script.steps.map((s: any) => [s.key, s.sequence, s.type])).toEqual([
      ['hello', 1, 'TEXT'],
      ['topic', 2, 'QUESTION_SELECTION'],
      ['describe', 3, 'FREE_INPUT_SINGLE'],
      ['email', 4, 'QUESTION_EMAIL'],
      ['ticket', 5, 'CREATE_TICKET'],
      ['forward', 6, 'FORWARD_OPERATOR'],
    ]);
    expect(stepOf(script, 'topic').answers).toEqual([
      { id: expect.any(String), key: 'pricing', label: 'Pricing', redirectUrl: 'https://example.com/pricing' },
      { id: expect.any(String), key: 'bug', label: 'I found a bug', redirectUrl: null },
      { id: expect.any(String), key: 'sales', label: 'Talk to sales', redirectUrl: null },
    ]);
    expect(stepOf(script, 'email').onlyIfAnswerIds).toEqual([answerOf(script, 'bug').id]);
    expect(stepOf(script, 'forward').onlyIfAnswerIds).toEqual([answerOf(script, 'sales').id]);
    expect(stepOf(script, 'ticket')).toMatchObject({ message: '', ticketTeam: { id: ticketTeamId, name: 'Bot tickets' } });
    expect(stepOf(script, 'hello')).toMatchObject({ onlyIfAnswerIds: [], answers: [], ticketTeam: null });
    expect(decodeGlobalID(answerOf(script, 'bug').id).typename).toBe('ChatbotAnswer');
    expect(decodeGlobalID(stepOf(script, 'topic').id).typename).toBe('ChatbotStep');
    expect(await read(script.id)).toEqual(script);

    // The engine's view: the same script, conditions as answer ids.
    const loaded = await loadChatbotScript(server.app.database.db, Number(decodeGlobalID(script.id).id));
    expect(loaded!.steps.map((s) => s.key)).toEqual(['hello', 'topic', 'describe', 'email', 'ticket', 'forward']);
    expect(loaded!.steps[3]!.onlyIfAnswerIds).toEqual([Number(decodeGlobalID(answerOf(script, 'bug').id).id)]);
  });

  it('takes any text of 1 to 64 characters as a key, and conditions with OR and AND', async () => {
    const script = await createOk({
      title: 'Keys',
      steps: [
        { key: 'Étape 1 — question ?', type: 'QUESTION_SELECTION', message: 'Colour?', answers: [{ key: 'r', label: 'Red' }, { key: 'g', label: 'Green' }] },
        { key: 'x'.repeat(64), type: 'QUESTION_SELECTION', message: 'Size?', answers: [{ key: '🙂', label: 'Small' }, { key: ' ', label: 'Large' }] },
        { key: 'both', type: 'TEXT', message: 'Red or green, and small', onlyIf: ['r', 'g', '🙂', 'r'] },
      ],
    });
    expect(stepOf(script, 'both').onlyIfAnswerIds).toEqual([answerOf(script, 'r').id, answerOf(script, 'g').id, answerOf(script, '🙂').id]);
  });

  it('names every problem by its path, and writes nothing', async () => {
    const before = (await request(server, undefined as any, `{ chatbotScripts { totalCount } }`)).chatbotScripts.totalCount;
    const { userErrors } = await create({
      title: ' ',
      steps: [
        { key: '', type: 'TEXT', message: 'hi' },
        { key: 'q', type: 'QUESTION_SELECTION', message: 'Pick', answers: [{ key: 'a', label: 'A', redirectUrl: 'javascript:alert(1)' }, { key: 'q', label: ' ' }], onlyIf: ['a'] },
        { key: 'later', type: 'TEXT', message: 'x', onlyIf: ['a', 'nope', 'b'] },
        { key: 'q2', type: 'QUESTION_SELECTION', message: 'Again', answers: [{ key: 'b', label: 'B', redirectUrl: 'ftp://example.com/' }] },
        { key: 'y'.repeat(65), type: 'TEXT', answers: [{ key: 'c', label: 'C' }], ticketTeamId },
        { key: 'sel', type: 'QUESTION_SELECTION', message: 'Nothing to choose' },
        { key: 'email', type: 'QUESTION_EMAIL', message: 'm'.repeat(2001) },
      ],
    });
    expect(userErrors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: ['input', 'title'], code: 'REQUIRED' }),
        expect.objectContaining({ field: ['input', 'steps', '0', 'key'], code: 'INVALID_KEY' }),
        expect.objectContaining({ field: ['input', 'steps', '1', 'answers', '0', 'redirectUrl'], code: 'INVALID_URL' }),
        expect.objectContaining({ field: ['input', 'steps', '1', 'answers', '1', 'key'], code: 'DUPLICATE_KEY' }),
        expect.objectContaining({ field: ['input', 'steps', '1', 'answers', '1', 'label'], code: 'INVALID_LABEL' }),
        // Its own answer is not of an earlier step.
        expect.objectContaining({ field: ['input', 'steps', '1', 'onlyIf', '0'], code: 'INVALID_CONDITION' }),
        // Unknown, and an answer of a later step.
        expect.objectContaining({ field: ['input', 'steps', '2', 'onlyIf', '1'], code: 'INVALID_CONDITION' }),
        expect.objectContaining({ field: ['input', 'steps', '2', 'onlyIf', '2'], code: 'INVALID_CONDITION' }),
        expect.objectContaining({ field: ['input', 'steps', '3', 'answers', '0', 'redirectUrl'], code: 'INVALID_URL' }),
        expect.objectContaining({ field: ['input', 'steps', '4', 'key'], code: 'INVALID_KEY' }),
        expect.objectContaining({ field: ['input', 'steps', '4', 'message'], code: 'REQUIRED' }),
        expect.objectContaining({ field: ['input', 'steps', '4', 'answers'], code: 'INVALID_VALUE' }),
        expect.objectContaining({ field: ['input', 'steps', '4', 'ticketTeamId'], code: 'INVALID_VALUE' }),
        expect.objectContaining({ field: ['input', 'steps', '5', 'answers'], code: 'REQUIRED' }),
        expect.objectContaining({ field: ['input', 'steps', '6', 'message'], code: 'TOO_LONG' }),
      ]),
    );
    expect(userErrors).toHaveLength(15);
    expect(userErrors.every((e: any) => typeof e.message === 'string' && e.message.length > 0)).toBe(true);
    expect((await request(server, undefined as any, `{ chatbotScripts { totalCount } }`)).chatbotScripts.totalCount).toBe(before);
  });

  it.each([
    ['a step key used by an answer', [{ key: 'k', type: 'QUESTION_SELECTION', message: 'm', answers: [{ key: 'k', label: 'A' }] }], ['steps', '0', 'answers', '0', 'key'], 'DUPLICATE_KEY'],
    ['two steps with one key', [{ key: 'k', type: 'TEXT', message: 'm' }, { key: 'k', type: 'TEXT', message: 'n' }], ['steps', '1', 'key'], 'DUPLICATE_KEY'],
    ['no steps', [], ['steps'], 'REQUIRED'],
    ['too many steps', Array.from({ length: 101 }, (_, i) => ({ key: `s${i}`, type: 'TEXT', message: 'm' })), ['steps'], 'TOO_MANY'],
    ['too many answers', [{ key: 'q', type: 'QUESTION_SELECTION', message: 'm', answers: Array.from({ length: 21 }, (_, i) => ({ key: `a${i}`, label: 'A' })) }], ['steps', '0', 'answers'], 'TOO_MANY'],
    ['a condition naming a step, not an answer', [{ key: 'q', type: 'QUESTION_SELECTION', message: 'm', answers: [{ key: 'a', label: 'A' }] }, { key: 't', type: 'TEXT', message: 'm', onlyIf: ['q'] }], ['steps', '1', 'onlyIf', '0'], 'INVALID_CONDITION'],
    ['a ticket team of another type', [{ key: 't', type: 'CREATE_TICKET', ticketTeamId: encodeGlobalID('Agent', '1') }], ['steps', '0', 'ticketTeamId'], 'INVALID_ID'],
    ['a ticket team that does not exist', [{ key: 't', type: 'CREATE_TICKET', ticketTeamId: encodeGlobalID('Team', '999999') }], ['steps', '0', 'ticketTeamId'], 'NOT_FOUND'],
    ['a redirect that is no address', [{ key: 'q', type: 'QUESTION_SELECTION', message: 'm', answers: [{ key: 'a', label: 'A', redirectUrl: 'https://' }] }], ['steps', '0', 'answers', '0', 'redirectUrl'], 'INVALID_URL'],
    ['a redirect too long', [{ key: 'q', type: 'QUESTION_SELECTION', message: 'm', answers: [{ key: 'a', label: 'A', redirectUrl: `https://example.com/${'a'.repeat(2000)}` }] }], ['steps', '0', 'answers', '0', 'redirectUrl'], 'INVALID_URL'],
  ] as const)('%s', async (_name, steps, field, code) => {
    const { script, userErrors } = await create({ title: 'Bad', steps });
    expect(script).toBeNull();
    expect(userErrors).toEqual([expect.objectContaining({ field: ['input', ...field], code })]);
  });

  it('refuses a title over 100 characters and text with a NUL', async () => {
    expect((await create({ title: 't'.repeat(101), steps: [{ key: 'k', type: 'TEXT', message: 'm' }] })).userErrors).toEqual([expect.objectContaining({ field: ['input', 'title'], code: 'TOO_LONG' })]);
    const nul = await create({ title: 'Bot', steps: [{ key: 'k', type: 'TEXT', message: 'a\u0000b' }] });
    expect(nul.userErrors.map((e: any) => e.code)).toEqual(['INVALID_TEXT']);
  });
});

describe('updateChatbotScript', () => {
  it('replaces steps and answers at once: unchanged keys keep their ids, conditions follow', async () => {
    const original = await createOk({ title: 'Odoo Bot', steps: odooSteps() });
    const topic = stepOf(original, 'topic');
    const { script, userErrors } = await update({
      scriptId: original.id,
      title: 'Helper',
      steps: [
        {
          key: 'topic',
          type: 'QUESTION_SELECTION',
          message: 'How can I help?',
          answers: [
            { key: 'sales', label: 'Sales, please' },
            { key: 'bug', label: 'A bug' },
            { key: 'billing', label: 'Billing', redirectUrl: 'https://example.com/billing' },
          ],
        },
        // A new selection step takes over an answer ("pricing" moves here and keeps its id).
        { key: 'more', type: 'QUESTION_SELECTION', message: 'More?', answers: [{ key: 'pricing', label: 'Prices' }] },
        { key: 'email', type: 'QUESTION_EMAIL', message: 'Your email?', onlyIf: ['bug', 'billing'] },
        { key: 'forward', type: 'FORWARD_OPERATOR', message: '', onlyIf: ['sales', 'pricing'] },
      ],
    });
    expect(userErrors).toEqual([]);
    expect(script.title).toBe('Helper');
    expect(script.steps.map((s: any) => [s.key, s.sequence])).toEqual([
      ['topic', 1],
      ['more', 2],
      ['email', 3],
      ['forward', 4],
    ]);
    expect(stepOf(script, 'topic').id).toBe(topic.id);
    expect(stepOf(script, 'email').id).toBe(stepOf(original, 'email').id);
    expect(stepOf(script, 'forward').id).toBe(stepOf(original, 'forward').id);
    expect(answerOf(script, 'sales').id).toBe(answerOf(original, 'sales').id);
    expect(answerOf(script, 'bug')).toEqual({ ...answerOf(original, 'bug'), label: 'A bug' });
    expect(answerOf(script, 'pricing')).toEqual({ id: answerOf(original, 'pricing').id, key: 'pricing', label: 'Prices', redirectUrl: null });
    expect(stepOf(script, 'more').answers.map((a: any) => a.key)).toEqual(['pricing']);
    expect(stepOf(script, 'topic').answers.map((a: any) => a.key)).toEqual(['sales', 'bug', 'billing']);
    const knownIds = new Set(original.steps.flatMap((s: any) => s.answers.map((a: any) => a.id)));
    expect(knownIds.has(answerOf(script, 'billing').id)).toBe(false);
    expect(stepOf(script, 'email').onlyIfAnswerIds).toEqual([answerOf(script, 'bug').id, answerOf(script, 'billing').id]);
    expect(stepOf(script, 'forward')).toMatchObject({ message: '', onlyIfAnswerIds: [answerOf(script, 'sales').id, answerOf(script, 'pricing').id] });
    expect(await read(original.id)).toEqual(script);

    // A key given back after it was removed is a new step.
    const again = await update({ scriptId: original.id, steps: [...odooSteps().slice(0, 1), { key: 'topic', type: 'TEXT', message: 'No more questions.' }] });
    expect(again.userErrors).toEqual([]);
    expect(stepOf(again.script, 'hello').id).not.toBe(stepOf(original, 'hello').id);
    expect(stepOf(again.script, 'topic')).toMatchObject({ id: topic.id, type: 'TEXT', answers: [] });
    expect(again.script.title).toBe('Helper');
    const rows = await server.app.database.db.query.chatbotAnswers.findMany({ where: { scriptId: Number(decodeGlobalID(original.id).id) } });
    expect(rows).toEqual([]);
  });

  it('changes only the title when no steps are given; an invalid update changes nothing', async () => {
    const original = await createOk({ title: 'Keep', steps: odooSteps() });
    const renamed = await update({ scriptId: original.id, title: 'Kept' });
    expect(renamed.userErrors).toEqual([]);
    expect(renamed.script).toEqual({ ...original, title: 'Kept' });
    const bad = await update({ scriptId: original.id, title: 'Lost', steps: [{ key: 'a', type: 'TEXT', message: 'm', onlyIf: ['bug'] }] });
    expect(bad).toEqual({ script: null, userErrors: [expect.objectContaining({ field: ['input', 'steps', '0', 'onlyIf', '0'], code: 'INVALID_CONDITION' })] });
    expect(await read(original.id)).toEqual({ ...original, title: 'Kept' });
  });

  it('answers NOT_FOUND and INVALID_ID on scriptId', async () => {
    expect((await update({ scriptId: encodeGlobalID('ChatbotScript', '999999'), title: 'x' })).userErrors).toEqual([expect.objectContaining({ field: ['input', 'scriptId'], code: 'NOT_FOUND' })]);
    expect((await update({ scriptId: encodeGlobalID('Team', '1'), title: 'x' })).userErrors).toEqual([expect.objectContaining({ field: ['input', 'scriptId'], code: 'INVALID_ID' })]);
  });
});

describe('duplicateChatbotScript', () => {
  it('copies steps, answers and conditions under new ids with the same keys', async () => {
    const original = await createOk({ title: 'Original', steps: odooSteps() });
    const { duplicateChatbotScript } = await request(server, undefined as any, DUPLICATE, { input: { scriptId: original.id } });
    expect(duplicateChatbotScript.userErrors).toEqual([]);
    const copy = duplicateChatbotScript.script;
    expect(copy.id).not.toBe(original.id);
    expect(copy.title).toBe('Original (copy)');
    const shape = (s: any) => s.steps.map((step: any) => ({ ...step, id: undefined, answers: step.answers.map((a: any) => ({ ...a, id: undefined })), onlyIfAnswerIds: step.onlyIfAnswerIds.length }));
    expect(shape(copy)).toEqual(shape(original));
    const originalIds = new Set([...original.steps.map((s: any) => s.id), ...original.steps.flatMap((s: any) => s.answers.map((a: any) => a.id))]);
    expect([...copy.steps.map((s: any) => s.id), ...copy.steps.flatMap((s: any) => s.answers.map((a: any) => a.id))].some((id) => originalIds.has(id))).toBe(false);
    expect(stepOf(copy, 'email').onlyIfAnswerIds).toEqual([answerOf(copy, 'bug').id]);
    expect(await read(original.id)).toEqual(original);

    const long = await createOk({ title: 'L'.repeat(100), steps: [{ key: 'k', type: 'TEXT', message: 'm' }] });
    const { duplicateChatbotScript: longCopy } = await request(server, undefined as any, DUPLICATE, { input: { scriptId: long.id } });
    expect(longCopy.script.title).toBe(`${'L'.repeat(93)} (copy)`);
  });
});

describe('rules attach scripts', () => {
  const RULE_FIELDS = `id chatbotCondition chatbotScript { id title }`;
  const CREATE_RULE = `mutation ($input: CreateLiveChatRuleInput!) { createLiveChatRule(input: $input) { rule { ${RULE_FIELDS} } ${USER_ERRORS} } }`;
  const UPDATE_RULE = `mutation ($input: UpdateLiveChatRuleInput!) { updateLiveChatRule(input: $input) { rule { ${RULE_FIELDS} } ${USER_ERRORS} } }`;

  it('sets, reads, counts and detaches; a script in use cannot be deleted', async () => {
    const { channelId } = await createChatTeam(server, 'Bot channel');
    const script = await createOk({ title: 'Greeter', steps: odooSteps() });
    const other = await createOk({ title: 'Other', steps: [{ key: 'k', type: 'TEXT', message: 'm' }] });

    const { createLiveChatRule: plain } = await request(server, undefined as any, CREATE_RULE, { input: { channelId, action: 'DISPLAY_BUTTON', urlPattern: '/plain' } });
    expect(plain.rule).toMatchObject({ chatbotCondition: 'ALWAYS', chatbotScript: null });
    const { createLiveChatRule: created } = await request(server, undefined as any, CREATE_RULE, {
      input: { channelId, action: 'DISPLAY_BUTTON', urlPattern: '/help', sequence: 1, chatbotScriptId: script.id, chatbotCondition: 'ONLY_IF_NO_OPERATOR' },
    });
    expect(created.userErrors).toEqual([]);
    expect(created.rule).toMatchObject({ chatbotCondition: 'ONLY_IF_NO_OPERATOR', chatbotScript: { id: script.id, title: 'Greeter' } });
    const { createLiveChatRule: second } = await request(server, undefined as any, CREATE_RULE, { input: { channelId, action: 'AUTO_POPUP', chatbotScriptId: script.id } });
    expect(second.rule).toMatchObject({ chatbotCondition: 'ALWAYS', chatbotScript: { id: script.id } });

    expect((await read(script.id)).usedByRules).toBe(2);
    const channel = await request(server, undefined as any, `query ($id: ID!) { liveChatChannel(id: $id) { chatbotScripts { id title usedByRules } rules { urlPattern chatbotCondition chatbotScript { title } } } }`, { id: channelId });
    expect(channel.liveChatChannel.chatbotScripts).toEqual([{ id: script.id, title: 'Greeter', usedByRules: 2 }]);

    // The rule of a visit, as startLiveChat resolves it.
    const db = server.app.database.db;
    const channelRow = Number(decodeGlobalID(channelId).id);
    expect(await chatbotOfVisit(db, channelRow, { pageUrl: 'https://shop.test/help', country: null })).toEqual({ scriptId: Number(decodeGlobalID(script.id).id), condition: 'ONLY_IF_NO_OPERATOR' });
    expect(await chatbotOfVisit(db, channelRow, { pageUrl: 'https://shop.test/plain', country: null })).toBeNull();
    expect(await chatbotOfVisit(db, channelRow, { pageUrl: 'https://shop.test/other', country: 'BE' })).toEqual({ scriptId: Number(decodeGlobalID(script.id).id), condition: 'ALWAYS' });

    const { deleteChatbotScript: refused } = await request(server, undefined as any, DELETE, { input: { scriptId: script.id } });
    expect(refused).toEqual({ deletedId: null, userErrors: [expect.objectContaining({ field: ['input', 'scriptId'], code: 'SCRIPT_IN_USE' })] });
    expect((await read(script.id)).steps).toHaveLength(6);

    // Switching a rule to another script, changing only the condition, detaching with null.
    const { updateLiveChatRule: switched } = await request(server, undefined as any, UPDATE_RULE, { input: { ruleId: second.rule.id, chatbotScriptId: other.id } });
    expect(switched.rule).toMatchObject({ chatbotScript: { title: 'Other' }, chatbotCondition: 'ALWAYS' });
    const { updateLiveChatRule: conditioned } = await request(server, undefined as any, UPDATE_RULE, { input: { ruleId: second.rule.id, chatbotCondition: 'ONLY_IF_OPERATOR' } });
    expect(conditioned.rule).toMatchObject({ chatbotScript: { title: 'Other' }, chatbotCondition: 'ONLY_IF_OPERATOR' });
    const { updateLiveChatRule: detached } = await request(server, undefined as any, UPDATE_RULE, { input: { ruleId: created.rule.id, chatbotScriptId: null } });
    expect(detached.rule).toMatchObject({ chatbotScript: null });
    const after = await request(server, undefined as any, `query ($id: ID!) { liveChatChannel(id: $id) { chatbotScripts { title } } }`, { id: channelId });
    expect(after.liveChatChannel.chatbotScripts).toEqual([{ title: 'Other' }]);
    expect((await read(script.id)).usedByRules).toBe(0);

    const { deleteChatbotScript: deleted } = await request(server, undefined as any, DELETE, { input: { scriptId: script.id } });
    expect(deleted).toEqual({ deletedId: script.id, userErrors: [] });
    expect(await read(script.id)).toBeNull();
    const { deleteChatbotScript: gone } = await request(server, undefined as any, DELETE, { input: { scriptId: script.id } });
    expect(gone.userErrors).toEqual([expect.objectContaining({ field: ['input', 'scriptId'], code: 'NOT_FOUND' })]);
  });

  it('refuses a script that does not exist or an ID of another type', async () => {
    const { channelId } = await createChatTeam(server, 'Bot channel 2');
    const missing = await request(server, undefined as any, CREATE_RULE, { input: { channelId, action: 'DISPLAY_BUTTON', chatbotScriptId: encodeGlobalID('ChatbotScript', '999999') } });
    expect(missing.createLiveChatRule).toEqual({ rule: null, userErrors: [expect.objectContaining({ field: ['input', 'chatbotScriptId'], code: 'NOT_FOUND' })] });
    const wrong = await request(server, undefined as any, CREATE_RULE, { input: { channelId, action: 'DISPLAY_BUTTON', chatbotScriptId: channelId } });
    expect(wrong.createLiveChatRule.userErrors).toEqual([expect.objectContaining({ field: ['input', 'chatbotScriptId'], code: 'INVALID_ID' })]);
  });

  it("lets a channel's operator attach a script and read it, but not write or list scripts", async () => {
    const { channelId } = await createChatTeam(server, 'Operated bot channel');
    const operator = await createOperator(server, 'Bot Operator');
    await addOperators(server, channelId, [operator]);
    const script = await createOk({ title: 'Shared', steps: [{ key: 'k', type: 'TEXT', message: 'm' }] });
    const { createLiveChatRule } = await request(server, operator.token, CREATE_RULE, { input: { channelId, action: 'DISPLAY_BUTTON', chatbotScriptId: script.id } });
    expect(createLiveChatRule.userErrors).toEqual([]);
    const channel = await request(server, operator.token, `query ($id: ID!) { liveChatChannel(id: $id) { chatbotScripts { title steps { key } } } }`, { id: channelId });
    expect(channel.liveChatChannel.chatbotScripts).toEqual([{ title: 'Shared', steps: [{ key: 'k' }] }]);

    const codes = async (query: string, variables: Record<string, unknown> = {}) => {
      try {
        await request(server, operator.token, query, variables);
        return [];
      } catch (error) {
        return (error as ClientError).response.errors!.map((e: any) => e.extensions.code);
      }
    };
    expect(await codes(`{ chatbotScripts { totalCount } }`)).toEqual(['FORBIDDEN']);
    expect(await codes(CREATE, { input: { title: 'Mine', steps: [{ key: 'k', type: 'TEXT', message: 'm' }] } })).toEqual(['FORBIDDEN']);
    expect(await codes(DELETE, { input: { scriptId: script.id } })).toEqual(['FORBIDDEN']);
    const anonymous = await server
      .client(null)
      .request<any>(READ, { id: script.id })
      .catch((error: ClientError) => error.response.errors!.map((e: any) => e.extensions.code));
    expect(anonymous).toEqual(['UNAUTHENTICATED']);
  });
});

describe('chatbotScripts', () => {
  it('pages through every script, oldest first, with keyset cursors', async () => {
    const made = [];
    for (const title of ['Page A', 'Page B', 'Page C']) made.push(await createOk({ title, steps: [{ key: 'k', type: 'TEXT', message: title }] }));
    const all: string[] = [];
    let after: string | null = null;
    let total: number;
    for (;;) {
      const { chatbotScripts }: any = await request(server, undefined as any, `query ($after: String) { chatbotScripts(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title steps { message } } } } }`, { after });
      total = chatbotScripts.totalCount;
      all.push(...chatbotScripts.edges.map((e: any) => e.node.id));
      expect(chatbotScripts.edges.length).toBeLessThanOrEqual(2);
      if (!chatbotScripts.pageInfo.hasNextPage) break;
      after = chatbotScripts.pageInfo.endCursor;
    }
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    const ids = all.map((id) => Number(decodeGlobalID(id).id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(all.slice(-3)).toEqual(made.map((s) => s.id));

    const forged = await request(server, undefined as any, `{ chatbotScripts(after: "bm9wZQ") { totalCount } }`).catch((error: ClientError) => error.response.errors![0]!.extensions);
    expect(forged).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

import { ChatbotAnswer, ChatbotScript, chatbotScriptById } from '../chatbot/graphql.js';
import { answersOfSteps } from '../chatbot/runtime-reads.js';
import { UserInputError } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { loadInBatch } from '../graphql/batch.js';
import { requireIdOf, UserError, withUserErrors } from '../graphql/user-errors.js';
import { allowStartedSession, isVisitorOf, NO_SESSION, staffOrVisitorOf, visitorSessionGone } from './graphql-access.js';
import { ChatMessage, LiveChatSession } from './graphql-types.js';
import { chooseChatbotAnswer } from './chatbot-runtime.js';
import { findSession, testChatbotScript } from './sessions.js';
import type { LiveChatSessionRow } from './tables.js';

/** Chatbots in live chat: what bot messages and bot sessions show, choosing an answer, testing a script. */

builder.objectFields(ChatMessage, (t) => ({
  answers: t.field({
    type: [ChatbotAnswer],
    description: "A bot's question: the answers it offers, as buttons (chooseChatbotAnswer); empty for every other message (a short list).",
    resolve: (m, _args, ctx) =>
      m.chatbotStepId === null
        ? []
        : loadInBatch(ctx, 'ChatMessage.answers', m.chatbotStepId, async (stepIds: number[]) => {
            const answers = await answersOfSteps(ctx.db, stepIds);
            return stepIds.map((id) => answers.get(id) ?? []);
          }),
  }),
  redirectUrl: t.exposeString('redirectUrl', {
    nullable: true,
    description: "A bot's message that ends its script by sending the visitor to this address (a redirect answer): the widget opens it. Null otherwise.",
  }),
}));

builder.objectFields(LiveChatSession, (t) => ({
  chatbotScript: t.field({
    type: ChatbotScript,
    nullable: true,
    description: 'The chatbot script the session opened with (kept after the hand-over); null when it opened without a bot (operators and admins).',
    authScopes: (s) => ({ operatorOf: s.channelId }),
    resolve: (s, _args, ctx) => (s.chatbotScriptId === null ? null : chatbotScriptById(ctx, s.chatbotScriptId)),
  }),
  test: t.exposeBoolean('test', { description: "A test session of testChatbotScript: left out of session lists and ratings unless a filter asks for them." }),
}));

interface SessionShape {
  session?: LiveChatSessionRow;
  userErrors: (typeof UserError.$inferType)[];
}

const ChooseChatbotAnswerInput = builder.inputType('ChooseChatbotAnswerInput', {
  description: "The visitor presses one of the answer buttons of the bot's current question.",
  fields: (t) => ({
    sessionId: t.id({ required: true, description: 'The session.' }),
    answerId: t.id({ required: true, description: 'An answer of the current question (ChatMessage.answers of its last question).' }),
  }),
});

const ChooseChatbotAnswerPayload = builder.objectRef<SessionShape>('ChooseChatbotAnswerPayload').implement({
  description: 'Result of chooseChatbotAnswer.',
  fields: (t) => ({
    session: t.field({ type: LiveChatSession, nullable: true, description: 'The session, when the answer was taken.', resolve: (p) => p.session ?? null }),
    userErrors: t.field({ type: [UserError], description: 'INVALID_VALUE (the current question does not offer the answer), SESSION_CLOSED, RATE_LIMITED …', resolve: (p) => p.userErrors }),
  }),
});

const TestChatbotScriptInput = builder.inputType('TestChatbotScriptInput', {
  description: 'An admin runs a chatbot script as a visitor would.',
  fields: (t) => ({
    scriptId: t.id({ required: true, description: 'The script.' }),
    channelId: t.id({ description: "The channel to run it on; left out: a channel whose rule attaches the script." }),
  }),
});

interface TestShape extends SessionShape {
  visitorToken?: string;
}

const TestChatbotScriptPayload = builder.objectRef<TestShape>('TestChatbotScriptPayload').implement({
  description: 'Result of testChatbotScript.',
  fields: (t) => ({
    session: t.field({ type: LiveChatSession, nullable: true, description: 'The test session, open with the bot.', resolve: (p) => p.session ?? null }),
    visitorToken: t.string({ nullable: true, description: 'The visitor token of the test session: write and choose answers with it as the visitor; shown once.', resolve: (p) => p.visitorToken ?? null }),
    userErrors: t.field({ type: [UserError], description: 'NOT_FOUND (no such script, or no channel to run it on) …', resolve: (p) => p.userErrors }),
  }),
});

builder.mutationFields((t) => ({
  chooseChatbotAnswer: t.field({
    type: ChooseChatbotAnswerPayload,
    skipTypeScopes: true,
    authScopes: (_root, { input }) => staffOrVisitorOf(input.sessionId),
    description: "The visitor (visitor token) chooses an answer of the bot's current question: it shows as the visitor's message and the bot goes on.",
    args: { input: t.arg({ type: ChooseChatbotAnswerInput, required: true, description: 'Session and answer.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const sessionId = requireIdOf(String(input.sessionId), 'LiveChatSession', 'sessionId');
        const answerId = requireIdOf(String(input.answerId), 'ChatbotAnswer', 'answerId');
        if (!isVisitorOf(ctx, sessionId)) throw NO_SESSION();
        try {
          return { session: await chooseChatbotAnswer(ctx.db, ctx.config.liveChat, { sessionId, answerId }) };
        } catch (error) {
          if (error instanceof UserInputError && error.errors.some((e) => e.code === 'NOT_FOUND') && !(await findSession(ctx.db, sessionId))) throw visitorSessionGone();
          throw error;
        }
      }) as Promise<SessionShape>,
  }),
  testChatbotScript: t.field({
    type: TestChatbotScriptPayload,
    authScopes: { admin: true },
    description: 'Runs a chatbot script as a visitor would, without a website (admins): a test session and its visitor token.',
    args: { input: t.arg({ type: TestChatbotScriptInput, required: true, description: 'Script and channel.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const scriptId = requireIdOf(String(input.scriptId), 'ChatbotScript', 'scriptId');
        const channelId = input.channelId == null ? null : requireIdOf(String(input.channelId), 'LiveChatChannel', 'channelId');
        const tested = await testChatbotScript(ctx.db, { scriptId, channelId });
        allowStartedSession(ctx, tested.session.id);
        return tested;
      }) as Promise<TestShape>,
  }),
}));

import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { addOperators, createChatTeam, createOperator, goOnline, request, USER_ERRORS, waitUntil, type Operator } from './support.js';

// Chatbot scripts at run time, over graphql-ws as the widget uses them: the Odoo documentation's
// example script, each branch once, the only-if conditions of rules, and the hand-over.
let server: TestServer;

const PRICING_URL = 'https://shop.example.com/pricing';

/** The example of Odoo's documentation (Live Chat › Chatbots), with a ticket where Odoo makes a lead. */
const ODOO_EXAMPLE = {
  title: 'Welcome Bot',
  steps: [
    { key: 'hello', type: 'TEXT', message: "Hello! I'm a bot!" },
    { key: 'role', type: 'TEXT', message: 'I help lost visitors find their way.' },
    {
      key: 'ask',
      type: 'QUESTION_SELECTION',
      message: 'How can I help you?',
      answers: [
        { key: 'buy', label: 'I want to buy the software' },
        { key: 'pricing', label: 'Pricing Question', redirectUrl: PRICING_URL },
        { key: 'other', label: 'Something else' },
      ],
    },
    { key: 'email', type: 'QUESTION_EMAIL', message: 'Would you mind leaving your email address so that we can reach you back?', onlyIf: ['buy'] },
    { key: 'need', type: 'FREE_INPUT_SINGLE', message: 'What would you like to buy?', onlyIf: ['buy'] },
    { key: 'ticket', type: 'CREATE_TICKET', message: 'Thank you, we will get back to you shortly.', onlyIf: ['buy'] },
    { key: 'forward', type: 'FORWARD_OPERATOR', message: 'I will forward you to an operator.', onlyIf: ['other'] },
  ],
};

const MESSAGE = 'seq: id body redirectUrl author { kind name } answers { id key label redirectUrl }';
const ADDED = `subscription ($sessionId: ID!) { chatMessageAdded(sessionId: $sessionId) { node { ${MESSAGE} } } }`;
const START = `mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) {
  session { id status queuePosition test operator { name } } visitorToken ${USER_ERRORS} } }`;
const SEND = `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { body } ${USER_ERRORS} } }`;
const CHOOSE = `mutation ($input: ChooseChatbotAnswerInput!) { chooseChatbotAnswer(input: $input) { session { id status } ${USER_ERRORS} } }`;
const SESSION = `query ($id: ID!) { liveChatSession(id: $id) { status queuePosition test operator { name } chatbotScript { id title }
  tickets { number title description customer { email name } liveChatSession { id } source { kind nodeId } } } }`;

/** One operation over a graphql-ws socket: its single result. */
async function over(socket: Client, query: string, variables: Record<string, unknown>): Promise<any> {
  const result = await socket.iterate({ query, variables }).next();
  if (result.value?.errors) throw new Error(JSON.stringify(result.value.errors));
  return result.value!.data;
}

async function createScript(definition: typeof ODOO_EXAMPLE) {
  const { createChatbotScript } = await request(
    server,
    undefined as any,
    `mutation ($input: CreateChatbotScriptInput!) { createChatbotScript(input: $input) { script { id title steps { key answers { id key } } } ${USER_ERRORS} } }`,
    { input: definition },
  );
  expect(createChatbotScript.userErrors).toEqual([]);
  return createChatbotScript.script as { id: string; title: string };
}

async function attach(channelId: string, scriptId: string, condition: string) {
  const { createLiveChatRule } = await request(
    server,
    undefined as any,
    `mutation ($input: CreateLiveChatRuleInput!) { createLiveChatRule(input: $input) { rule { id chatbotCondition chatbotScript { id } } ${USER_ERRORS} } }`,
    { input: { channelId, action: 'DISPLAY_BUTTON', urlPattern: '', chatbotScriptId: scriptId, chatbotCondition: condition } },
  );
  expect(createLiveChatRule.userErrors).toEqual([]);
}

async function setCap(channelId: string, cap: number | null) {
  const { updateLiveChatChannel } = await request(server, undefined as any, `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, {
    input: { channelId, maxSessionsPerOperator: cap },
  });
  expect(updateLiveChatChannel.userErrors).toEqual([]);
}

/** A visitor as the widget is one: a graphql-ws socket with the visitor token, following the session's messages. */
async function visit(channelId: string, visitorName: string, extra: Record<string, unknown> = {}) {
  const started = await over(server.wsClient(null), START, { input: { channelId, visitorName, pageUrl: 'https://shop.example.com/', ...extra } });
  expect(started.startLiveChat.userErrors).toEqual([]);
  const session = started.startLiveChat.session;
  const socket = server.wsClient(started.startLiveChat.visitorToken);
  const stream = subscribe(socket, ADDED, { sessionId: session.id });
  const messages = () => stream.events.map((e) => e.chatMessageAdded.node);
  return {
    session,
    socket,
    stream,
    messages,
    bodies: () => messages().map((m: any) => m.body as string),
    /** Waits until the visitor received a message with this body (or matching it), and returns it. */
    async until(body: string | RegExp) {
      const matches = (m: any) => (typeof body === 'string' ? m.body === body : body.test(m.body));
      await waitUntil(async () => messages(), (all) => all.some(matches));
      return messages().find(matches);
    },
    say: async (body: string) => (await over(socket, SEND, { input: { sessionId: session.id, body } })).sendChatMessage,
    choose: async (answerId: string) => (await over(socket, CHOOSE, { input: { sessionId: session.id, answerId } })).chooseChatbotAnswer,
    read: async () => (await request(server, undefined as any, SESSION, { id: session.id })).liveChatSession,
  };
}

let script: { id: string; title: string };
let online: { channelId: string; ann: Operator; feed: { dispose(): void } };
let busy: { channelId: string; bob: Operator; feed: { dispose(): void } };
let nobody: { channelId: string; teamName: string };

beforeAll(async () => {
  // A short pause, so that a multi-line answer is taken as finished within the test.
  server = await startTestServer({ LIVECHAT_CHATBOT_PAUSE_MS: '300' });
  script = await createScript(ODOO_EXAMPLE);
  // Three channels share the script: one with an operator free, one whose only operator is at
  // its cap, one with nobody online.
  {
    const { channelId } = await createChatTeam(server, 'Bot Free');
    const ann = await createOperator(server, 'Bot Ann');
    await addOperators(server, channelId, [ann]);
    await attach(channelId, script.id, 'ALWAYS');
    online = { channelId, ann, feed: (await goOnline(server, channelId, ann)).feed };
  }
  {
    const { channelId } = await createChatTeam(server, 'Bot Busy');
    const bob = await createOperator(server, 'Bot Bob');
    await addOperators(server, channelId, [bob]);
    await setCap(channelId, 1);
    busy = { channelId, bob, feed: (await goOnline(server, channelId, bob)).feed };
    // Bob's one place is taken by a chat without the bot (the script's rule is added after it).
    const first = await over(server.wsClient(null), START, { input: { channelId, visitorName: 'Taken' } });
    expect(first.startLiveChat.session).toMatchObject({ status: 'OPEN', operator: { name: 'Bot Bob' } });
    await attach(channelId, script.id, 'ALWAYS');
  }
  {
    const { channelId } = await createChatTeam(server, 'Bot Nobody');
    await attach(channelId, script.id, 'ALWAYS');
    nobody = { channelId, teamName: 'Bot Nobody' };
  }
});
afterAll(async () => {
  online?.feed.dispose();
  busy?.feed.dispose();
  await server?.stop();
});

const GREETING = ["Hello! I'm a bot!", 'I help lost visitors find their way.', 'How can I help you?'];

describe('the Odoo example script', () => {
  it('greets: the session opens with the bot, no operator, no welcome message, and the question offers its answers as buttons', async () => {
    const visitor = await visit(nobody.channelId, 'Greta');
    // No operator is online, yet the chat starts: the bot answers.
    expect(visitor.session).toMatchObject({ status: 'OPEN', operator: null, test: false });
    // Operators see which script the session runs.
    expect(await visitor.read()).toMatchObject({ chatbotScript: { id: script.id, title: 'Welcome Bot' } });
    const question = await visitor.until('How can I help you?');
    expect(visitor.bodies()).toEqual(GREETING);
    expect(visitor.messages().every((m: any) => m.author.kind === 'BOT' && m.author.name === 'Welcome Bot')).toBe(true);
    expect(visitor.messages()[0].answers).toEqual([]);
    expect(question.answers.map((a: any) => [a.key, a.label, a.redirectUrl])).toEqual([
      ['buy', 'I want to buy the software', null],
      ['pricing', 'Pricing Question', PRICING_URL],
      ['other', 'Something else', null],
    ]);
  });

  it('a pricing question is answered by sending the visitor to the pricing page, which ends the script', async () => {
    const visitor = await visit(nobody.channelId, 'Pia');
    const question = await visitor.until('How can I help you?');
    const pricing = question.answers.find((a: any) => a.key === 'pricing');
    expect(await visitor.choose(pricing.id)).toEqual({ session: { id: visitor.session.id, status: 'OPEN' }, userErrors: [] });
    await waitUntil(async () => visitor.messages(), (all) => all.some((m: any) => m.redirectUrl === PRICING_URL));
    const sent = visitor.messages().slice(GREETING.length);
    // The choice is the visitor's message; the bot's last one carries the address the widget opens.
    expect(sent[0]).toMatchObject({ body: 'Pricing Question', author: { kind: 'VISITOR', name: 'Pia' } });
    expect(sent.at(-1)).toMatchObject({ author: { kind: 'BOT' }, redirectUrl: PRICING_URL });
    // The script has ended: the bot asks nothing more, whatever the visitor writes.
    const count = visitor.messages().length;
    expect((await visitor.say('thanks')).userErrors).toEqual([]);
    await visitor.until('thanks');
    // An answer of the question is no longer offered.
    const again = await visitor.choose(question.answers[0].id);
    expect(again.userErrors).toEqual([expect.objectContaining({ field: ['input', 'answerId'], code: 'INVALID_VALUE' })]);
    expect(visitor.messages().length).toBe(count + 1);
  });

  it('buying leads to the email step, which rejects a bad address, then a ticket with the email as customer and the whole conversation, bot included', async () => {
    const visitor = await visit(nobody.channelId, 'Bea');
    const question = await visitor.until('How can I help you?');
    await visitor.choose(question.answers.find((a: any) => a.key === 'buy').id);
    await visitor.until('Would you mind leaving your email address so that we can reach you back?');
    expect((await visitor.say('bea at example')).userErrors).toEqual([]);
    // Explained and asked again: the bot stays on the step.
    const explained = await visitor.until(/does not look like an email address/i);
    expect(explained.author.kind).toBe('BOT');
    await visitor.say('bea@example.com');
    await visitor.until('What would you like to buy?');
    await visitor.say('Forty licences for the Brussels office');
    const told = await visitor.until(/ticket #\d+/i);
    const number = Number(/#(\d+)/.exec(told.body)![1]);
    expect(visitor.bodies()).toContain('Thank you, we will get back to you shortly.');

    const read = await visitor.read();
    expect(read.tickets).toHaveLength(1);
    const [ticket] = read.tickets;
    expect(ticket).toMatchObject({
      number,
      title: 'Forty licences for the Brussels office',
      customer: { email: 'bea@example.com', name: 'Bea' },
      liveChatSession: { id: visitor.session.id },
      source: { kind: 'LIVE_CHAT_SESSION', nodeId: visitor.session.id },
    });
    // Contact answers first, then the conversation as "Author: text", the bot's lines included.
    expect(ticket.description.split('\n')).toEqual([
      'Email: bea@example.com',
      '',
      "Welcome Bot: Hello! I'm a bot!",
      'Welcome Bot: I help lost visitors find their way.',
      'Welcome Bot: How can I help you?',
      'Bea: I want to buy the software',
      'Welcome Bot: Would you mind leaving your email address so that we can reach you back?',
      'Bea: bea at example',
      expect.stringMatching(/^Welcome Bot: That does not look like an email address/),
      'Bea: bea@example.com',
      'Welcome Bot: What would you like to buy?',
      'Bea: Forty licences for the Brussels office',
      // The ticket step's own message comes before the ticket is made.
      'Welcome Bot: Thank you, we will get back to you shortly.',
    ]);
    expect(read).toMatchObject({ status: 'OPEN', operator: null });
  });

  it('"Something else" forwards to the available operator, whose welcome follows; after it the bot posts nothing, whatever the visitor types', async () => {
    const visitor = await visit(online.channelId, 'Otto');
    const question = await visitor.until('How can I help you?');
    await visitor.choose(question.answers.find((a: any) => a.key === 'other').id);
    await visitor.until('How may I help you?');
    expect(await visitor.read()).toMatchObject({ status: 'OPEN', operator: { name: 'Bot Ann' }, chatbotScript: { title: 'Welcome Bot' } });
    const welcome = visitor.messages().at(-1);
    expect(welcome.author).toEqual({ kind: 'OPERATOR', name: 'Bot Ann' });
    expect(visitor.bodies().slice(GREETING.length)).toEqual(['Something else', 'I will forward you to an operator.', 'How may I help you?']);

    for (const body of ['operator', 'hello?', 'bea@example.com', 'Opérateur']) await visitor.say(body);
    // The operator answers in turn; everything the visitor said reached the chat, and no bot line came after the hand-over.
    await request(server, online.ann.token, SEND, { input: { sessionId: visitor.session.id, body: 'Ann here.' } });
    await visitor.until('Ann here.');
    const afterHandOver = visitor.messages().slice(GREETING.length + 3);
    expect(afterHandOver.map((m: any) => [m.author.kind, m.body])).toEqual([
      ['VISITOR', 'operator'],
      ['VISITOR', 'hello?'],
      ['VISITOR', 'bea@example.com'],
      ['VISITOR', 'Opérateur'],
      ['OPERATOR', 'Ann here.'],
    ]);

    // A later /helpdesk of the operator takes the bot's part of the conversation into the ticket too.
    await request(server, online.ann.token, SEND, { input: { sessionId: visitor.session.id, body: '/helpdesk Otto wants help' } });
    const { tickets } = await visitor.read();
    expect(tickets).toHaveLength(1);
    expect(tickets[0].description.split('\n').slice(0, 5)).toEqual([
      "Welcome Bot: Hello! I'm a bot!",
      'Welcome Bot: I help lost visitors find their way.',
      'Welcome Bot: How can I help you?',
      'Otto: Something else',
      'Welcome Bot: I will forward you to an operator.',
    ]);
  });

  it('with every operator at the cap, the visitor waits in line and the bot says so, then stops', async () => {
    const visitor = await visit(busy.channelId, 'Wanda');
    const question = await visitor.until('How can I help you?');
    await visitor.choose(question.answers.find((a: any) => a.key === 'other').id);
    const told = await visitor.until(/in line/);
    expect(told.author.kind).toBe('BOT');
    expect(told.body).toMatch(/number 1 in line/);
    expect(await visitor.read()).toMatchObject({ status: 'WAITING', queuePosition: 1, operator: null });
    const count = visitor.messages().length;
    await visitor.say('still there?');
    await visitor.until('still there?');
    expect(visitor.messages().length).toBe(count + 1);
  });

  it('with nobody online, the forward says so, the script goes on and ends with the offer to leave a message, which becomes a ticket', async () => {
    const visitor = await visit(nobody.channelId, 'Nina');
    const question = await visitor.until('How can I help you?');
    await visitor.choose(question.answers.find((a: any) => a.key === 'other').id);
    const offer = await visitor.until(/leave us a message/i);
    const after = visitor.messages().slice(GREETING.length);
    expect(after[0].body).toBe('Something else');
    expect(after[1].body).toBe('I will forward you to an operator.');
    expect(after[2].body).toMatch(/nobody is available/i);
    expect(offer.author.kind).toBe('BOT');
    await visitor.say('Please call me back about my invoice.');
    const told = await visitor.until(/ticket #\d+/i);
    const read = await visitor.read();
    expect(read.tickets).toEqual([expect.objectContaining({ number: Number(/#(\d+)/.exec(told.body)![1]), title: 'Please call me back about my invoice.', customer: { email: null, name: 'Nina' } })]);
  });

  it('"operator" in any of the four languages asks for one at any time', async () => {
    const visitor = await visit(online.channelId, 'Olga');
    await visitor.until('How can I help you?');
    await visitor.say('Opérateur');
    await visitor.until('How may I help you?');
    expect(await visitor.read()).toMatchObject({ status: 'OPEN', operator: { name: 'Bot Ann' } });
  });
});

describe('chooseChatbotAnswer', () => {
  it('refuses an answer the current question does not offer, and any answer once the session is closed', async () => {
    const visitor = await visit(nobody.channelId, 'Rita');
    const question = await visitor.until('How can I help you?');
    const other = await createScript({ ...ODOO_EXAMPLE, title: 'Other Bot' });
    const { chatbotScript } = await request(server, undefined as any, `query ($id: ID!) { chatbotScript: node(id: $id) { ... on ChatbotScript { steps { answers { id } } } } }`, { id: other.id });
    const foreign = chatbotScript.steps.flatMap((s: any) => s.answers)[0].id;
    expect((await visitor.choose(foreign)).userErrors).toEqual([expect.objectContaining({ field: ['input', 'answerId'], code: 'INVALID_VALUE' })]);
    await over(visitor.socket, `mutation ($input: CloseLiveChatInput!) { closeLiveChat(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: visitor.session.id } });
    expect((await visitor.choose(question.answers[0].id)).userErrors).toEqual([expect.objectContaining({ field: ['input', 'sessionId'], code: 'SESSION_CLOSED' })]);
  });
});

describe('ONLY_IF_NO_OPERATOR', () => {
  it('gives the visitor the operator when one is available, and the bot when none is', async () => {
    const { channelId } = await createChatTeam(server, 'Bot Fallback');
    const cleo = await createOperator(server, 'Bot Cleo');
    await addOperators(server, channelId, [cleo]);
    await attach(channelId, script.id, 'ONLY_IF_NO_OPERATOR');
    const widget = `query ($key: String!) { liveChatWidget(channelKey: $key, pageUrl: "https://shop.example.com/") { available } }`;
    const { liveChatChannel } = await request(server, undefined as any, `query ($id: ID!) { liveChatChannel(id: $id) { key available } }`, { id: channelId });
    // Nobody online: the bot answers, so the widget is available while the channel is not.
    expect(liveChatChannel.available).toBe(false);
    expect((await request(server, null, widget, { key: liveChatChannel.key })).liveChatWidget.available).toBe(true);
    // The widget's live availability counts the bot too, given the page its rule is for.
    const availability = subscribe(server.wsClient(null), `subscription ($key: String!, $page: String) { liveChatAvailability(channelKey: $key, pageUrl: $page) }`, {
      key: liveChatChannel.key,
      page: 'https://shop.example.com/',
    });
    expect((await availability.waitFor(1))[0].liveChatAvailability).toBe(true);
    availability.dispose();
    const botVisitor = await visit(channelId, 'Early');
    expect(botVisitor.session).toMatchObject({ status: 'OPEN', operator: null });
    expect(await botVisitor.read()).toMatchObject({ chatbotScript: { title: 'Welcome Bot' } });

    const { feed } = await goOnline(server, channelId, cleo);
    const visitor = await visit(channelId, 'Later');
    expect(visitor.session).toMatchObject({ status: 'OPEN', operator: { name: 'Bot Cleo' } });
    expect(await visitor.read()).toMatchObject({ chatbotScript: null });
    await visitor.until('How may I help you?');
    expect(visitor.messages().every((m: any) => m.author.kind !== 'BOT')).toBe(true);
    feed.dispose();
  });
});

describe('testChatbotScript', () => {
  it('runs a script for an admin on a channel whose rule attaches it; test sessions stay out of lists unless asked for', async () => {
    const TEST = `mutation ($input: TestChatbotScriptInput!) { testChatbotScript(input: $input) { session { id test status chatbotScript { title } channel { id } } visitorToken ${USER_ERRORS} } }`;
    const { testChatbotScript } = await request(server, undefined as any, TEST, { input: { scriptId: script.id } });
    expect(testChatbotScript.userErrors).toEqual([]);
    expect(testChatbotScript.session).toMatchObject({ test: true, status: 'OPEN', chatbotScript: { title: 'Welcome Bot' } });
    const channelId = testChatbotScript.session.channel.id;
    expect([online.channelId, busy.channelId, nobody.channelId]).toContain(channelId);
    const socket = server.wsClient(testChatbotScript.visitorToken);
    const stream = subscribe(socket, ADDED, { sessionId: testChatbotScript.session.id });
    await stream.waitFor(3);
    expect(stream.events.map((e) => e.chatMessageAdded.node.body)).toEqual(GREETING);

    const LIST = `query ($id: ID!, $filter: LiveChatSessionFilter) { liveChatChannel(id: $id) { sessions(first: 100, filter: $filter) { totalCount nodes { id test } } } }`;
    const plain = (await request(server, undefined as any, LIST, { id: channelId })).liveChatChannel.sessions;
    expect(plain.nodes.map((n: any) => n.id)).not.toContain(testChatbotScript.session.id);
    const tests = (await request(server, undefined as any, LIST, { id: channelId, filter: { test: true } })).liveChatChannel.sessions;
    expect(tests.nodes.map((n: any) => n.id)).toEqual([testChatbotScript.session.id]);
    expect(tests.totalCount).toBe(1);
    // Its rating counts nowhere.
    const testSession = testChatbotScript.session.id;
    await over(socket, `mutation ($input: CloseLiveChatInput!) { closeLiveChat(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: testSession } });
    const rated = await over(socket, `mutation ($input: RateLiveChatInput!) { rateLiveChat(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: testSession, rating: 'SATISFIED' } });
    expect(rated.rateLiveChat.userErrors).toEqual([]);
    const figures = (await request(server, undefined as any, `query ($id: ID!) { liveChatChannel(id: $id) { satisfaction { rated } ratings(first: 10) { totalCount } } }`, { id: channelId })).liveChatChannel;
    expect(figures).toEqual({ satisfaction: { rated: 0 }, ratings: { totalCount: 0 } });

    // chatbot: sessions that opened with a bot, or those that did not.
    const withBot = (await request(server, undefined as any, LIST, { id: busy.channelId, filter: { chatbot: true } })).liveChatChannel.sessions;
    const withoutBot = (await request(server, undefined as any, LIST, { id: busy.channelId, filter: { chatbot: false } })).liveChatChannel.sessions;
    expect(withBot.totalCount).toBeGreaterThan(0);
    expect(withoutBot.totalCount).toBe(1);
    const all = (await request(server, undefined as any, LIST, { id: busy.channelId })).liveChatChannel.sessions;
    expect(all.totalCount).toBe(withBot.totalCount + withoutBot.totalCount);

    // A channel named is used whatever its rules; without one, a script no rule attaches has nowhere to run.
    const { channelId: bare } = await createChatTeam(server, 'Bot Bare');
    const named = await request(server, undefined as any, TEST, { input: { scriptId: script.id, channelId: bare } });
    expect(named.testChatbotScript).toMatchObject({ session: { test: true, channel: { id: bare } }, userErrors: [] });
    const unused = await createScript({ ...ODOO_EXAMPLE, title: 'Unused Bot' });
    const nowhere = await request(server, undefined as any, TEST, { input: { scriptId: unused.id } });
    expect(nowhere.testChatbotScript).toMatchObject({ session: null, visitorToken: null, userErrors: [expect.objectContaining({ field: ['input', 'channelId'], code: 'NOT_FOUND' })] });
  });
});

describe('FREE_INPUT_MULTI', () => {
  it('takes every line until the visitor pauses, then goes on', async () => {
    const multi = await createScript({
      title: 'Multi Bot',
      steps: [
        { key: 'describe', type: 'FREE_INPUT_MULTI', message: 'Describe the problem; take your time.' },
        { key: 'file', type: 'CREATE_TICKET', message: '' },
      ],
    } as typeof ODOO_EXAMPLE);
    const TEST = `mutation ($input: TestChatbotScriptInput!) { testChatbotScript(input: $input) { session { id } visitorToken ${USER_ERRORS} } }`;
    const { testChatbotScript } = await request(server, undefined as any, TEST, { input: { scriptId: multi.id, channelId: nobody.channelId } });
    const sessionId = testChatbotScript.session.id;
    const socket = server.wsClient(testChatbotScript.visitorToken);
    const stream = subscribe(socket, ADDED, { sessionId });
    await stream.waitFor(1);
    await over(socket, SEND, { input: { sessionId, body: 'My printer' } });
    await over(socket, SEND, { input: { sessionId, body: 'is on fire' } });
    await stream.waitFor(4, 10_000);
    const bodies = stream.events.map((e) => e.chatMessageAdded.node.body);
    // Nothing from the bot between the lines; the ticket once the visitor paused.
    expect(bodies.slice(0, 3)).toEqual(['Describe the problem; take your time.', 'My printer', 'is on fire']);
    expect(bodies[3]).toMatch(/ticket #\d+/i);
    const { liveChatSession } = await request(server, undefined as any, SESSION, { id: sessionId });
    expect(liveChatSession.tickets).toEqual([expect.objectContaining({ title: 'My printer is on fire', customer: { email: null, name: 'Test visitor' } })]);
  });
});

describe('a person taking over', () => {
  it('silences the bot: after an admin wrote to the visitor, an answer the bot would have taken gets no reply from it', async () => {
    const visitor = await visit(nobody.channelId, 'Tess');
    await visitor.until('How can I help you?');
    await request(server, undefined as any, SEND, { input: { sessionId: visitor.session.id, body: 'A person here.' } });
    await visitor.say('Something else');
    await request(server, undefined as any, SEND, { input: { sessionId: visitor.session.id, body: 'Go on.' } });
    await visitor.until('Go on.');
    expect(visitor.bodies().slice(GREETING.length)).toEqual(['A person here.', 'Something else', 'Go on.']);
  });
});

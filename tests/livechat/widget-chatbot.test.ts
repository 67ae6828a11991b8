import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { accessibilityViolations, ARTIFACTS, available, focusedInWidget, launchChromium, startHostSite, visibleBodies } from './browser-support.js';
import { addOperators, bodies, createChatTeam, createOperator, goOnline, request, USER_ERRORS } from './support.js';

// A chatbot in the widget, in a real browser on another origin: its messages under its name, its
// answers as buttons, the email step re-asked, the ticket number, a redirect answer, a stale answer.

const CREATE_SCRIPT = `mutation ($input: CreateChatbotScriptInput!) { createChatbotScript(input: $input) { script { id } ${USER_ERRORS} } }`;
const CREATE_RULE = `mutation ($input: CreateLiveChatRuleInput!) { createLiveChatRule(input: $input) { ${USER_ERRORS} } }`;
const CHANNEL = `query ($id: ID!) { liveChatChannel(id: $id) { key embedCode directLinkUrl } }`;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('LiveChatWidget.chatbot: whether a chat started now opens with the bot', () => {
  it('follows the rule of the page and its condition against the operators online', async () => {
    const { channelId } = await createChatTeam(server, 'Widget Bot Flag');
    const { createChatbotScript } = await request(server, undefined as any, CREATE_SCRIPT, { input: { title: 'Flag Bot', steps: [{ key: 'hi', type: 'TEXT', message: 'Hi' }] } });
    const scriptId = createChatbotScript.script.id;
    for (const [urlPattern, chatbotCondition] of [
      ['/always', 'ALWAYS'],
      ['/if-nobody', 'ONLY_IF_NO_OPERATOR'],
      ['/if-someone', 'ONLY_IF_OPERATOR'],
    ]) {
      const rule = await request(server, undefined as any, CREATE_RULE, { input: { channelId, action: 'DISPLAY_BUTTON', urlPattern, chatbotScriptId: scriptId, chatbotCondition } });
      expect(rule.createLiveChatRule.userErrors).toEqual([]);
    }
    const { liveChatChannel } = await request(server, undefined as any, CHANNEL, { id: channelId });
    const flags = async () => {
      const read = async (path: string) => {
        const { liveChatWidget } = await request(server, null, `query ($k: String!, $u: String) { liveChatWidget(channelKey: $k, pageUrl: $u) { chatbot available } }`, { k: liveChatChannel.key, u: `https://shop.example.com${path}` });
        return liveChatWidget.chatbot as boolean;
      };
      return { always: await read('/always'), ifNobody: await read('/if-nobody'), ifSomeone: await read('/if-someone'), noBot: await read('/elsewhere') };
    };
    expect(await flags()).toEqual({ always: true, ifNobody: true, ifSomeone: false, noBot: false });
    const operator = await createOperator(server, 'Widget Flag Olga');
    await addOperators(server, channelId, [operator]);
    const { socket } = await goOnline(server, channelId, operator);
    expect(await flags()).toEqual({ always: true, ifNobody: false, ifSomeone: true, noBot: false });
    await socket.dispose();
  });
});

describe.runIf(available)('a chatbot in the chat widget, in a real browser', () => {
  let browser: Browser;
  let site: Awaited<ReturnType<typeof startHostSite>>;
  let channel: { teamId: string; key: string; directLinkUrl: string; page(pathname?: string): string; host: string };
  beforeAll(async () => {
    site = await startHostSite();
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    // Nobody online: the bot answers (ALWAYS). The script, written through the GraphQL API.
    const { team, channelId } = await createChatTeam(server, 'Widget Bot');
    const pricing = `http://127.0.0.1:${site.port}/pricing`;
    const { createChatbotScript } = await request(server, undefined as any, CREATE_SCRIPT, {
      input: {
        title: 'Intake Helper',
        steps: [
          { key: 'hello', type: 'TEXT', message: 'Hello, I am the Intake helper.' },
          {
            key: 'topic',
            type: 'QUESTION_SELECTION',
            message: 'What do you need?',
            answers: [
              { key: 'support', label: 'Support with an order' },
              { key: 'pricing', label: 'Pricing', redirectUrl: pricing },
            ],
          },
          { key: 'email', type: 'QUESTION_EMAIL', message: 'Your email address, please?' },
          { key: 'ticket', type: 'CREATE_TICKET', message: 'I am filing your request.' },
        ],
      },
    });
    expect(createChatbotScript.userErrors).toEqual([]);
    const rule = await request(server, undefined as any, CREATE_RULE, {
      input: { channelId, action: 'DISPLAY_BUTTON', urlPattern: '', chatbotScriptId: createChatbotScript.script.id, chatbotCondition: 'ALWAYS' },
    });
    expect(rule.createLiveChatRule.userErrors).toEqual([]);
    const { liveChatChannel } = await request(server, undefined as any, CHANNEL, { id: channelId });
    site.embeds.set(liveChatChannel.key, liveChatChannel.embedCode);
    channel = {
      teamId: team.id,
      key: liveChatChannel.key,
      directLinkUrl: liveChatChannel.directLinkUrl,
      page: (pathname = '/') => `http://127.0.0.1:${site.port}${pathname}?channel=${liveChatChannel.key}`,
      host: `#intake-chat-${liveChatChannel.key}`,
    };
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  const answerButtons = (page: Page) => page.locator('.answers button');
  const input = (page: Page) => page.getByRole('textbox', { name: 'Your message' });

  it('greets under its name as the window opens, offers answers as buttons (keyboard too), re-asks a bad email, files a ticket and tells its number', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 }, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(channel.page('/'));
    // Nobody is online, yet the bot answers: the bubble offers a chat, not a message.
    const bubble = page.getByRole('button', { name: /Chat with us/ });
    await bubble.waitFor();
    await bubble.click();
    // Opening the window starts the chat: the bot greets first, under its name, with no welcome of the channel.
    const support = page.getByRole('button', { name: 'Support with an order' });
    await support.waitFor();
    expect(await visibleBodies(page)).toEqual(['Hello, I am the Intake helper.', 'What do you need?']);
    expect(await page.locator('.msg.bot .who').first().textContent()).toBe('Intake Helper: ');
    expect(await page.getByRole('group', { name: 'Answers' }).getByRole('button').allTextContents()).toEqual(['Support with an order', 'Pricing']);
    expect(await input(page).isEditable()).toBe(true);
    expect(await accessibilityViolations(page, channel.host)).toEqual([]);
    await page.locator('.window').screenshot({ path: path.join(ARTIFACTS, 'livechat-widget-chatbot.png') });

    // Keyboard: Tab reaches the answer, Enter chooses it; the choice shows as the visitor's message and the buttons go.
    for (let i = 0; i < 10 && (await focusedInWidget(page))?.label !== 'Support with an order'; i++) await page.keyboard.press('Tab');
    expect(await focusedInWidget(page)).toMatchObject({ tag: 'button', label: 'Support with an order' });
    await page.keyboard.press('Enter');
    await page.getByText('Your email address, please?').waitFor();
    expect(await answerButtons(page).count()).toBe(0);
    expect(await visibleBodies(page)).toEqual(['Hello, I am the Intake helper.', 'What do you need?', 'Support with an order', 'Your email address, please?']);

    // A bad address: the bot explains and asks again; the input stays usable.
    expect(await input(page).isEditable()).toBe(true);
    await input(page).fill('ada at example');
    await page.keyboard.press('Enter');
    await page.getByText(/That does not look like an email address/).waitFor();
    expect(await input(page).isEditable()).toBe(true);
    await input(page).fill('ada@example.com');
    await page.keyboard.press('Enter');

    // The ticket: its number in the bot's last message, the customer from the email answer.
    const told = page.locator('.msg.bot .body', { hasText: /ticket #\d+/ });
    await told.waitFor();
    const { tickets } = await request(server, undefined as any, `query ($t: ID!) { tickets(filter: { teamId: $t }) { nodes { number customer { email } } } }`, { t: channel.teamId });
    expect(tickets.nodes).toHaveLength(1);
    expect(tickets.nodes[0].customer.email).toBe('ada@example.com');
    expect(await told.textContent()).toBe(`Thank you. Your request was received as ticket #${tickets.nodes[0].number}.`);
    expect(await input(page).isEditable()).toBe(true);
    expect(await accessibilityViolations(page, channel.host)).toEqual([]);
    await context.close();
  }, 120_000);

  it('tells the visitor an answer the bot no longer offers, and sends the host page to a redirect answer', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 }, locale: 'en-US' });
    // Every WebSocket of the page passes through here, so the test can hold the live messages back.
    const sockets: WebSocketRoute[] = [];
    let holdSockets = false;
    await context.routeWebSocket(/\/graphql$/, (ws) => {
      if (holdSockets) return ws.close({ code: 1011, reason: 'held down by the test' });
      ws.connectToServer();
      sockets.push(ws);
    });
    const page = await context.newPage();
    await page.goto(channel.page('/'));
    await page.getByRole('button', { name: /Chat with us/ }).click();
    await page.getByRole('button', { name: 'Pricing' }).waitFor();

    // Another tab of the same visitor answers meanwhile, while this one hears nothing: its buttons are stale.
    holdSockets = true;
    for (const ws of sockets.splice(0)) await ws.close({ code: 1011, reason: 'cut by the test' });
    const stored = await page.evaluate((key) => JSON.parse(localStorage.getItem(`intake-chat:${key}`)!), channel.key);
    const { liveChatSession } = await request(server, stored.token, `query ($id: ID!) { liveChatSession(id: $id) { messages(first: 10) { nodes { answers { id label } } } } }`, { id: stored.sessionId });
    const supportId = liveChatSession.messages.nodes.flatMap((m: any) => m.answers).find((a: any) => a.label === 'Support with an order').id;
    const chosen = await request(server, stored.token, `mutation ($input: ChooseChatbotAnswerInput!) { chooseChatbotAnswer(input: $input) { ${USER_ERRORS} } }`, {
      input: { sessionId: stored.sessionId, answerId: supportId },
    });
    expect(chosen.chooseChatbotAnswer.userErrors).toEqual([]);
    await page.getByRole('button', { name: 'Pricing' }).click();
    const notice = page.locator('.msg.notice');
    await notice.waitFor();
    expect(await notice.textContent()).toBe('The bot no longer offers this answer. Please answer its latest question, or type your message.');
    expect(await page.getByRole('button', { name: 'Pricing' }).count()).toBe(0);
    expect(await input(page).isEditable()).toBe(true);
    holdSockets = false;
    await page.getByText('Your email address, please?').waitFor({ timeout: 20_000 });
    await context.close();

    // A fresh visitor chooses the redirect answer: the host page goes there (the chat window minimized).
    const second = await browser.newContext({ viewport: { width: 900, height: 700 }, locale: 'en-US' });
    const visitor = await second.newPage();
    await visitor.goto(channel.page('/'));
    await visitor.getByRole('button', { name: /Chat with us/ }).click();
    await visitor.getByRole('button', { name: 'Pricing' }).click();
    await visitor.waitForURL(`http://127.0.0.1:${site.port}/pricing`);
    await second.close();
  }, 120_000);

  it('hands over to an operator on an answer: the operator welcomes, the visitor types on, the bot says nothing more', async () => {
    const { channelId } = await createChatTeam(server, 'Widget Bot Handover');
    const operator = await createOperator(server, 'Widget Hana');
    await addOperators(server, channelId, [operator]);
    const { socket } = await goOnline(server, channelId, operator);
    const { createChatbotScript } = await request(server, undefined as any, CREATE_SCRIPT, {
      input: {
        title: 'Door Bot',
        steps: [
          { key: 'ask', type: 'QUESTION_SELECTION', message: 'Shall I find someone?', answers: [{ key: 'yes', label: 'Yes, a person please' }] },
          { key: 'forward', type: 'FORWARD_OPERATOR', message: 'Finding someone for you.' },
          { key: 'after', type: 'TEXT', message: 'The bot would say this with nobody online.' },
        ],
      },
    });
    expect(createChatbotScript.userErrors).toEqual([]);
    const rule = await request(server, undefined as any, CREATE_RULE, { input: { channelId, action: 'DISPLAY_BUTTON', urlPattern: '', chatbotScriptId: createChatbotScript.script.id, chatbotCondition: 'ALWAYS' } });
    expect(rule.createLiveChatRule.userErrors).toEqual([]);
    const { liveChatChannel } = await request(server, undefined as any, CHANNEL, { id: channelId });

    const context = await browser.newContext({ viewport: { width: 500, height: 700 }, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(liveChatChannel.directLinkUrl);
    await page.getByRole('button', { name: 'Yes, a person please' }).click();
    // The operator's welcome (the channel's), from the operator: the session is theirs now.
    await page.locator('.msg.operator:visible .who', { hasText: 'Widget Hana' }).waitFor();
    expect(await answerButtons(page).count()).toBe(0);
    expect(await input(page).isEditable()).toBe(true);
    await input(page).fill('Thanks, I need help with an invoice');
    await page.keyboard.press('Enter');
    await waitFor(async () => (await page.locator('.msg.visitor:not(.pending)').count()) === 2, { what: "the visitor's message stored" });
    const stored = await page.evaluate((key) => JSON.parse(localStorage.getItem(`intake-chat:${key}`)!), liveChatChannel.key);
    const all = await bodies(server, operator.token, stored.sessionId);
    expect(all.at(-1)).toBe('Thanks, I need help with an invoice');
    expect(all).not.toContain('The bot would say this with nobody online.');
    expect(await input(page).isEditable()).toBe(true);
    await context.close();
    await socket.dispose();
  }, 90_000);

  it('on the direct-link page, the bot greets at once and a redirect answer opens in a new tab, the chat staying', async () => {
    const context = await browser.newContext({ viewport: { width: 500, height: 700 }, locale: 'fr-FR' });
    const page = await context.newPage();
    await page.goto(channel.directLinkUrl);
    const pricing = page.getByRole('button', { name: 'Pricing' });
    await pricing.waitFor();
    // The widget's own words in French; the script's are the script's.
    expect(await page.getByRole('group', { name: 'Réponses' }).count()).toBe(1);
    const opened = context.waitForEvent('page');
    await pricing.click();
    const tab = await opened;
    await tab.waitForURL(`http://127.0.0.1:${site.port}/pricing`);
    expect(page.url()).toBe(channel.directLinkUrl);
    // The bot's redirect message is a link to the same address.
    await waitFor(async () => (await page.locator('.msg.bot a').count()) === 1, { what: "the bot's redirect link" });
    expect(await page.locator('.msg.bot a').getAttribute('href')).toBe(`http://127.0.0.1:${site.port}/pricing`);
    await context.close();
  }, 90_000);
});

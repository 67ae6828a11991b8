import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { accessibilityViolations, ARTIFACTS, available, focusedInWidget, launchChromium, startHostSite, visibleBodies } from './browser-support.js';
import { addOperators, bodies, close, createChatTeam, createOperator, goOnline, request, send, startChat, USER_ERRORS } from './support.js';

const COLORS = { headerBackgroundColor: '#0F172A', titleColor: '#FFFFFF', buttonBackgroundColor: '#1D4ED8', buttonTextColor: '#FFFFFF' };
const CHANNEL = `query ($id: ID!) { liveChatChannel(id: $id) { key embedCode directLinkUrl } }`;
const UPDATE = `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`;
const CREATE_RULE = `mutation ($input: CreateLiveChatRuleInput!) { createLiveChatRule(input: $input) { ${USER_ERRORS} } }`;

describe.runIf(available)('the chat widget on another origin, in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let site: Awaited<ReturnType<typeof startHostSite>>;
  beforeAll(async () => {
    [server, site] = await Promise.all([startTestServer(), startHostSite()]);
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await server?.stop();
  });

  /** A chat team whose channel is embedded on the host site; its page URL and key. */
  async function embeddedChannel(name: string, settings: Record<string, unknown> = {}) {
    const { team, channelId } = await createChatTeam(server, name);
    const update = await request(server, undefined as any, UPDATE, { input: { channelId, ...COLORS, ...settings } });
    expect(update.updateLiveChatChannel.userErrors).toEqual([]);
    const { liveChatChannel } = await request(server, undefined as any, CHANNEL, { id: channelId });
    site.embeds.set(liveChatChannel.key, liveChatChannel.embedCode);
    const page = (pathname = '/') => `http://127.0.0.1:${site.port}${pathname}?channel=${liveChatChannel.key}`;
    return { team, channelId, key: liveChatChannel.key as string, directLinkUrl: liveChatChannel.directLinkUrl as string, page, host: `#intake-chat-${liveChatChannel.key}` };
  }

  it('chats with an operator: bubble, welcome, both ways live, reload, a dropped socket, keyboard only, rating', async () => {
    const channel = await embeddedChannel('Widget Chat', { buttonText: 'Questions? Chat with us', welcomeMessage: 'Hello! How can we help?', inputPlaceholder: 'Write here…' });
    const operator = await createOperator(server, 'Widget Olga');
    await addOperators(server, channel.channelId, [operator]);
    const { feed, socket } = await goOnline(server, channel.channelId, operator);

    const context = await browser.newContext({ viewport: { width: 900, height: 700 }, locale: 'en-GB' });
    // Every WebSocket of the page passes through here, so the test can cut it and hold it down.
    const sockets: WebSocketRoute[] = [];
    let holdSockets = false;
    await context.routeWebSocket(/\/graphql$/, (ws) => {
      if (holdSockets) return ws.close({ code: 1011, reason: 'held down by the test' });
      ws.connectToServer();
      sockets.push(ws);
    });
    const page = await context.newPage();
    // What the widget asked startLiveChat, and the keys it got back.
    const starts: { previousSessionKey: string | null; sessionKey: string | null }[] = [];
    page.on('response', async (response) => {
      const body = response.request().postDataJSON?.();
      if (!body?.query?.includes('startLiveChat')) return;
      starts.push({ previousSessionKey: body.variables.i.previousSessionKey, sessionKey: (await response.json()).data.startLiveChat.sessionKey });
    });
    await page.goto(channel.page('/products/42'));

    // The bubble: the channel's text as its accessible name, its colours.
    const bubble = page.getByRole('button', { name: 'Questions? Chat with us' });
    await bubble.waitFor();
    expect(await bubble.evaluate((b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color])).toEqual(['rgb(29, 78, 216)', 'rgb(255, 255, 255)']);
    expect(await page.locator('.launcher span').count()).toBe(0);
    expect(await accessibilityViolations(page, channel.host)).toEqual([]);
    await bubble.screenshot({ path: path.join(ARTIFACTS, 'livechat-widget-bubble.png') });

    // Keyboard only: Tab reaches the bubble, Enter opens the window with the welcome message first.
    await page.keyboard.press('Tab');
    expect(await focusedInWidget(page)).toMatchObject({ className: 'launcher icon' });
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Widget Chat' });
    await dialog.waitFor();
    expect(await dialog.locator('header').evaluate((h) => [getComputedStyle(h).backgroundColor, getComputedStyle(h.querySelector('h2')!).color])).toEqual(['rgb(15, 23, 42)', 'rgb(255, 255, 255)']);
    expect(await visibleBodies(page)).toEqual(['Hello! How can we help?']);
    expect(await page.getByRole('textbox', { name: 'Your message' }).getAttribute('placeholder')).toBe('Write here…');
    expect(await focusedInWidget(page)).toMatchObject({ tag: 'textarea' });
    expect(await page.locator('[role=log]').getAttribute('aria-live')).toBe('polite');

    await page.keyboard.type('My export is empty');
    await page.keyboard.press('Enter');
    // The operator sees the session and, over graphql-ws, the visitor's message.
    const [{ liveChatSessionChanged: session }] = await feed.waitFor(1);
    const operatorMessages = subscribe(socket, `subscription ($s: ID!) { chatMessageAdded(sessionId: $s) { cursor node { body author { kind } } } }`, { s: session.id });
    await waitFor(() => operatorMessages.events.some((e: any) => e.chatMessageAdded.node.body === 'My export is empty'), { what: "the visitor's message at the operator" });
    // The operator types: the widget says so, and stops saying so with the answer.
    // Typing is live only: told again until the widget's subscription, which nothing acknowledges, shows it.
    const typing = page.locator('.typing', { hasText: 'Widget Olga is typing…' });
    for (const deadline = Date.now() + 15_000; !(await typing.isVisible()); ) {
      if (Date.now() > deadline) throw new Error('the typing indicator never showed');
      expect((await request(server, operator.token, `mutation ($input: SetChatTypingInput!) { setChatTyping(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: session.id, typing: true } })).setChatTyping.userErrors).toEqual([]);
      await typing.waitFor({ timeout: 1000 }).catch(() => {});
    }
    expect((await send(server, operator.token, { sessionId: session.id, body: 'Which format do you export?' })).userErrors).toEqual([]);
    await waitFor(async () => (await visibleBodies(page)).includes('Which format do you export?'), { what: "the operator's answer in the widget" });
    expect(await visibleBodies(page)).toEqual(['Hello! How can we help?', 'My export is empty', 'Which format do you export?']);
    expect(await page.locator('.typing').textContent()).toBe('');
    await page.locator('.window').screenshot({ path: path.join(ARTIFACTS, 'livechat-widget-window.png') });
    expect(await accessibilityViolations(page, channel.host)).toEqual([]);

    // Focus stays in the window; Escape gives it back to the bubble.
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      expect((await focusedInWidget(page))?.inWindow).toBe(true);
    }
    await page.keyboard.press('Escape');
    expect(await dialog.isHidden()).toBe(true);
    expect(await focusedInWidget(page)).toMatchObject({ className: 'launcher icon' });

    // A reload continues the same conversation.
    await page.reload();
    await bubble.click();
    await waitFor(async () => (await visibleBodies(page)).length === 3, { what: 'the conversation after a reload' });
    expect(await visibleBodies(page)).toEqual(['Hello! How can we help?', 'My export is empty', 'Which format do you export?']);

    // The socket dies and stays down while both sides write; once back, nothing is lost or doubled.
    await waitFor(() => sockets.length >= 2, { what: "the reloaded page's sockets" });
    holdSockets = true;
    for (const ws of sockets.splice(0)) await ws.close({ code: 1011, reason: 'cut by the test' });
    await send(server, operator.token, { sessionId: session.id, body: 'CSV or Excel?' });
    await page.getByRole('textbox', { name: 'Your message' }).fill('CSV, with headers');
    await page.keyboard.press('Enter');
    // Sent over HTTP, which the cut leaves alone: stored before the operator's next line.
    await waitFor(async () => (await bodies(server, operator.token, session.id)).includes('CSV, with headers'), { what: "the visitor's message stored" });
    await send(server, operator.token, { sessionId: session.id, body: 'Thanks, looking into it.' });
    await page.locator('.status', { hasText: 'Reconnecting' }).waitFor();
    holdSockets = false;
    const expected = ['Hello! How can we help?', 'My export is empty', 'Which format do you export?', 'CSV or Excel?', 'CSV, with headers', 'Thanks, looking into it.'];
    await waitFor(async () => (await visibleBodies(page)).length >= expected.length && (await page.locator('.msg.pending').count()) === 0, { timeout: 20_000, what: 'the messages after reconnecting' });
    expect(await visibleBodies(page)).toEqual(expected);
    const stored = await request(server, operator.token, `query ($id: ID!) { liveChatSession(id: $id) { messages(first: 50) { nodes { body } } } }`, { id: session.id });
    expect(stored.liveChatSession.messages.nodes.map((m: any) => m.body)).toEqual(expected);

    // Keyboard only: reach "End the chat", close, rate with a comment.
    for (let i = 0; i < 10 && (await focusedInWidget(page))?.label !== 'End the chat'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('group', { name: 'How was this chat?' }).waitFor();
    expect(await accessibilityViolations(page, channel.host)).toEqual([]);
    for (let i = 0; i < 10 && (await focusedInWidget(page))?.type !== 'radio'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Quick and kind');
    await page.keyboard.press('Tab');
    expect(await focusedInWidget(page)).toMatchObject({ label: 'Send rating' });
    await page.keyboard.press('Enter');
    await page.getByText('Thank you for your feedback.').waitFor();
    const rated = await request(server, operator.token, `query ($id: ID!) { liveChatSession(id: $id) { status rating { rating comment } } }`, { id: session.id });
    expect(rated.liveChatSession).toEqual({ status: 'CLOSED', rating: { rating: 'SATISFIED', comment: 'Quick and kind' } });

    // A new chat names the closed one, so the same operator is preferred.
    await page.getByRole('button', { name: 'Start a new chat' }).click();
    expect(await visibleBodies(page)).toEqual(['Hello! How can we help?']);
    await page.getByRole('textbox', { name: 'Your message' }).fill('One more thing');
    await page.keyboard.press('Enter');
    await waitFor(() => starts.length === 2, { what: 'a second startLiveChat' });
    expect(starts[0]!.previousSessionKey).toBeNull();
    expect(starts[1]!.previousSessionKey).toBe(starts[0]!.sessionKey);
    await waitFor(() => feed.events.some((e: any) => e.liveChatSessionChanged.id !== session.id), { what: 'the new session at the operator' });
    await context.close();
    operatorMessages.dispose();
  }, 120_000);

  it('follows the rules of the page and speaks French; with nobody online it takes a message, offers chat again when an operator comes and a message (or nothing) when the last goes', async () => {
    const channel = await embeddedChannel('Widget Offline', { buttonText: 'Chat with us' });
    for (const rule of [
      { urlPattern: '/private/', action: 'HIDE_BUTTON', sequence: 1 },
      { urlPattern: '/welcome', action: 'AUTO_POPUP', autoPopupSeconds: 2, sequence: 2 },
      { urlPattern: '/pricing', action: 'DISPLAY_BUTTON_AND_TEXT', sequence: 3 },
    ]) {
      expect((await request(server, undefined as any, CREATE_RULE, { input: { channelId: channel.channelId, ...rule } })).createLiveChatRule.userErrors).toEqual([]);
    }
    const context = await browser.newContext({ viewport: { width: 900, height: 700 }, locale: 'en-US' });
    const page = await context.newPage();

    // HIDE_BUTTON: the widget removes the place the loader kept, and shows nothing.
    const told = page.waitForResponse(async (r) => r.url().endsWith('/graphql') && /liveChatWidget/.test(r.request().postData() ?? ''));
    await page.goto(channel.page('/private/account'));
    expect((await (await told).json()).data.liveChatWidget.action).toBe('HIDE_BUTTON');
    await page.locator(channel.host).waitFor({ state: 'detached' });
    expect(await page.locator('.launcher').count()).toBe(0);

    // DISPLAY_BUTTON_AND_TEXT: the text beside the bubble.
    await page.goto(channel.page('/pricing'));
    await page.locator('.launcher span', { hasText: 'Leave us a message' }).waitFor();

    // AUTO_POPUP after 2 s: the window opens by itself.
    await page.goto(channel.page('/welcome'));
    await page.locator('.launcher').waitFor();
    const shown = Date.now();
    await page.getByRole('dialog').waitFor({ timeout: 15_000 });
    expect(Date.now() - shown).toBeGreaterThanOrEqual(1500);
    await page.evaluate(() => localStorage.clear());

    // A French browser: the widget's own texts in French.
    const french = await browser.newContext({ viewport: { width: 900, height: 700 }, locale: 'fr-FR' });
    const frenchPage = await french.newPage();
    await frenchPage.goto(channel.page('/'));
    await frenchPage.getByRole('button', { name: 'Laissez-nous un message' }).click();
    await frenchPage.getByRole('textbox', { name: 'Nom' }).waitFor();
    expect(await frenchPage.getByRole('button', { name: 'Envoyer le message' }).count()).toBe(1);
    expect(await frenchPage.getByRole('button', { name: 'Réduire la discussion' }).count()).toBe(1);
    await french.close();

    // Nobody online: the bubble offers to leave a message, which becomes a ticket.
    await page.goto(channel.page('/'));
    await page.getByRole('button', { name: 'Leave us a message' }).click();
    const form = page.getByRole('dialog');
    await form.getByRole('button', { name: 'Send message' }).click();
    expect(await form.locator('#intake-offline-name-error').textContent()).toBe('Please fill this in.');
    expect(await accessibilityViolations(page, channel.host)).toEqual([]);
    await form.getByRole('textbox', { name: 'Name' }).fill('Ada Visitor');
    await form.getByRole('textbox', { name: 'Email' }).fill('ada@example.com');
    await form.getByRole('textbox', { name: 'Your message' }).fill('Do you ship to Belgium?\nThanks.');
    // The trap field sits off screen, out of the tab order and of the accessibility tree.
    const trap = page.locator('[name=websiteUrl]');
    expect([(await trap.boundingBox())!.x < 0, await trap.getAttribute('tabindex'), await page.locator('.trap').getAttribute('aria-hidden')]).toEqual([true, '-1', 'true']);
    await page.locator('.window').screenshot({ path: path.join(ARTIFACTS, 'livechat-widget-offline.png') });
    await form.getByRole('button', { name: 'Send message' }).click();
    const number = Number(await page.locator('[data-ticket-number]').getAttribute('data-ticket-number'));
    expect(await page.locator('[data-ticket-number]').textContent()).toBe(`Thank you. Your message was received as ticket #${number}.`);
    const { tickets } = await request(server, undefined as any, `query ($t: ID!) { tickets(filter: { teamId: $t }) { nodes { number title channel customer { email } } } }`, { t: channel.team.id });
    expect(tickets.nodes).toEqual([{ number, title: 'Do you ship to Belgium?', channel: 'LIVE_CHAT', customer: { email: 'ada@example.com' } }]);

    // An operator comes online: without a reload, the bubble offers the chat again.
    await page.goto(channel.page('/'));
    // The window was left open: it opens again after the page changes; minimized, the bubble shows.
    await page.getByRole('button', { name: 'Minimize the chat' }).click();
    await page.getByRole('button', { name: 'Leave us a message' }).waitFor();
    const operator = await createOperator(server, 'Widget Omar');
    await addOperators(server, channel.channelId, [operator]);
    const online = await goOnline(server, channel.channelId, operator);
    await page.getByRole('button', { name: 'Chat with us' }).click();
    await page.getByRole('textbox', { name: 'Your message' }).waitFor();

    // The last operator goes: without a reload, the bubble offers to leave a message again.
    await page.getByRole('button', { name: 'Minimize the chat' }).click();
    online.feed.dispose();
    await page.getByRole('button', { name: 'Leave us a message' }).waitFor();
    // The channel now hides the bubble while nobody is there; it comes back with an operator.
    expect((await request(server, undefined as any, UPDATE, { input: { channelId: channel.channelId, offlineBehavior: 'HIDE' } })).updateLiveChatChannel.userErrors).toEqual([]);
    await page.locator('.launcher').waitFor({ state: 'hidden' });
    await goOnline(server, channel.channelId, operator);
    await page.getByRole('button', { name: 'Chat with us' }).waitFor();
    await context.close();
  }, 120_000);

  it('runs alone on the direct-link page (in line, then served), which only allowed origins may frame', async () => {
    const channel = await embeddedChannel('Widget Direct', { welcomeMessage: 'Direct hello', allowedOrigins: [`http://127.0.0.1:${site.port}`], maxSessionsPerOperator: 1 });
    const operator = await createOperator(server, 'Widget Dora');
    await addOperators(server, channel.channelId, [operator]);
    const { feed } = await goOnline(server, channel.channelId, operator);
    // Another visitor holds the only place: the page's visitor will wait in line.
    const first = await startChat(server, { channelId: channel.channelId, visitorName: 'Earlier visitor' });
    expect(first.session.status).toBe('OPEN');
    const context = await browser.newContext({ viewport: { width: 500, height: 700 } });
    const page = await context.newPage();
    await page.goto(channel.directLinkUrl);
    await page.getByRole('main').getByText('Direct hello').waitFor();
    expect(await page.locator('.launcher').isVisible()).toBe(false);
    await page.getByRole('textbox', { name: 'Your message' }).fill('Hello from the link');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'You are number 1 in line.' }).waitFor();
    await waitFor(() => feed.events.some((e: any) => e.liveChatSessionChanged.id !== first.session.id), { what: 'the waiting session at the operator' });
    const session = feed.events.map((e: any) => e.liveChatSessionChanged).find((s: any) => s.id !== first.session.id);
    expect(session.status).toBe('WAITING');
    // The place frees: the page's visitor is served, the line's notice goes, the welcome comes.
    expect((await close(server, operator.token, first.session.id)).userErrors).toEqual([]);
    await waitFor(async () => (await page.locator('.status').textContent()) === '', { what: 'the waiting notice gone' });
    await waitFor(async () => (await page.locator('.msg.visitor:not(.pending)').count()) === 1, { what: 'the message stored' });
    expect((await request(server, operator.token, `query ($id: ID!) { liveChatSession(id: $id) { messages(first: 5) { nodes { body } } } }`, { id: session.id })).liveChatSession.messages.nodes.map((m: any) => m.body)).toContain('Hello from the link');

    // Framed by the allowed origin it works; by another origin (localhost is not 127.0.0.1) Chromium refuses it.
    const frameUrl = (origin: string) => `${origin}/frame?src=${encodeURIComponent(channel.directLinkUrl)}`;
    await page.goto(frameUrl(`http://127.0.0.1:${site.port}`));
    await page.frameLocator('iframe').getByText('Direct hello').waitFor();
    const refused = await context.newPage();
    const blocked = refused.waitForEvent('console', (m) => /frame-ancestors/.test(m.text()));
    await refused.goto(frameUrl(`http://localhost:${site.port}`));
    await blocked;
    expect(await refused.frameLocator('iframe').locator('.window').count()).toBe(0);
    await context.close();
  }, 90_000);
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { available, launchChromium, startHostSite, visibleBodies } from './browser-support.js';
import { addOperators, close, createChatTeam, createOperator, goOnline, request, send } from './support.js';

/**
 * A visitor comes back (same browser, the page closed meanwhile) after the operator closed the
 * chat: with the stored visitor token still good, the widget reads the session CLOSED; once the
 * token's period is over (LIVECHAT_VISITOR_TOKEN_DAYS after the close: a fraction here, about
 * 1.7 s, with a short token cache so that the refusal is seen at once), it is told 401. Either way
 * it asks once, forgets the session without an error, shows a fresh chat, and the next chat names
 * the closed one (previousSessionKey), so the same operator gets it.
 */
describe.runIf(available)('a returning visitor, in a real browser', () => {
  let browser: Browser;
  let site: Awaited<ReturnType<typeof startHostSite>>;
  beforeAll(async () => {
    site = await startHostSite();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  async function comesBack(server: TestServer, name: string, away: 'closed' | 'token expired') {
    const { channelId } = await createChatTeam(server, name);
    const update = await request(server, undefined as any, `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { userErrors { code } } }`, {
      input: { channelId, buttonText: 'Chat with us', welcomeMessage: 'Welcome back?' },
    });
    expect(update.updateLiveChatChannel.userErrors).toEqual([]);
    const { liveChatChannel } = await request(server, undefined as any, `query ($id: ID!) { liveChatChannel(id: $id) { key embedCode } }`, { id: channelId });
    site.embeds.set(liveChatChannel.key, liveChatChannel.embedCode);
    const pageUrl = `http://127.0.0.1:${site.port}/?channel=${liveChatChannel.key}`;
    const storageKey = `intake-chat:${liveChatChannel.key}`;
    const olga = await createOperator(server, `${name} Olga`);
    const omar = await createOperator(server, `${name} Omar`);
    await addOperators(server, channelId, [olga, omar]);
    const { feed, socket } = await goOnline(server, channelId, olga);

    // One context for both visits: its localStorage is the visitor's browser.
    const context = await browser.newContext({ viewport: { width: 900, height: 700 }, locale: 'en-GB' });
    // Per visit, every request carrying a visitor token and every socket's connection_init; what startLiveChat was asked and answered.
    const authorized: { visit: number; token: string; query: string; status: number }[] = [];
    const socketInits: { visit: number; payload: string }[] = [];
    const starts: { previousSessionKey: string | null; sessionKey: string | null }[] = [];
    const visit = async (n: number) => {
      const page = await context.newPage();
      page.on('response', async (response) => {
        const header = await response.request().headerValue('authorization');
        const body = response.request().postDataJSON?.();
        if (header) authorized.push({ visit: n, token: header.replace(/^Bearer /, ''), query: body?.query ?? '', status: response.status() });
        if (body?.query?.includes('startLiveChat')) starts.push({ previousSessionKey: body.variables.i.previousSessionKey, sessionKey: (await response.json()).data.startLiveChat.sessionKey });
      });
      page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => String(payload).includes('connection_init') && socketInits.push({ visit: n, payload: String(payload) })));
      return page;
    };

    // First visit: the visitor chats with Olga, the only operator online.
    const first = await visit(1);
    await first.goto(pageUrl);
    await first.getByRole('button', { name: 'Chat with us' }).click();
    await first.getByRole('textbox', { name: 'Your message' }).fill('Where is my parcel?');
    await first.keyboard.press('Enter');
    const [{ liveChatSessionChanged: session }] = await feed.waitFor(1);
    expect(session.operator.name).toBe(`${name} Olga`);
    const messages = subscribe(socket, `subscription ($s: ID!) { chatMessageAdded(sessionId: $s) { node { body } } }`, { s: session.id });
    await waitFor(() => messages.events.some((e: any) => e.chatMessageAdded.node.body === 'Where is my parcel?'), { what: "the visitor's message at the operator" });
    expect((await send(server, olga.token, { sessionId: session.id, body: 'On its way.' })).userErrors).toEqual([]);
    await waitFor(async () => (await visibleBodies(first)).includes('On its way.'), { what: "the operator's answer in the widget" });
    const stored = JSON.parse((await first.evaluate((key) => localStorage.getItem(key), storageKey))!);
    expect(stored).toMatchObject({ sessionId: session.id, sessionKey: starts[0]!.sessionKey });
    expect(starts[0]!.previousSessionKey).toBeNull();

    // The visitor leaves the site; Olga closes the chat meanwhile; the stored token's period may run out.
    await first.close();
    expect((await close(server, olga.token, session.id)).userErrors).toEqual([]);
    const readWithStoredToken = () =>
      fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stored.token}` },
        body: JSON.stringify({ query: `query ($id: ID!) { liveChatSession(id: $id) { status } }`, variables: { id: session.id } }),
      }).then((r) => r.status);
    const answer = away === 'closed' ? 200 : 401;
    if (away === 'closed') expect(await readWithStoredToken()).toBe(200);
    else await waitFor(async () => (await readWithStoredToken()) === 401, { what: 'the stored token refused' });
    // Omar comes online and has never chatted: idle the longest, he would get a chat that names no earlier one.
    await goOnline(server, channelId, omar);

    // The visitor comes back: the window (left open) shows a fresh chat, the welcome only, no error.
    const second = await visit(2);
    await second.goto(pageUrl);
    await second.getByRole('dialog', { name }).waitFor();
    expect(await visibleBodies(second)).toEqual(['Welcome back?']);
    expect(await second.locator('.msg.notice, .msg.failed').count()).toBe(0);
    expect(await second.locator('.status').textContent()).toBe('');
    expect(await second.getByRole('textbox', { name: 'Your message' }).isVisible()).toBe(true);
    expect(await second.getByRole('button', { name: 'End the chat' }).isVisible()).toBe(false);
    // The token is forgotten, its session's key kept for the next chat.
    const kept = JSON.parse((await second.evaluate((key) => localStorage.getItem(key), storageKey))!);
    expect([kept.token, kept.sessionId, kept.sessionKey]).toEqual([undefined, undefined, stored.sessionKey]);

    await second.getByRole('textbox', { name: 'Your message' }).fill('Back about the parcel');
    await second.keyboard.press('Enter');
    await waitFor(() => starts.length === 2, { what: 'a second startLiveChat' });
    expect(starts[1]!.previousSessionKey).toBe(stored.sessionKey);
    await waitFor(() => feed.events.some((e: any) => e.liveChatSessionChanged.id !== session.id), { what: 'the new session at the operator' });
    const next = feed.events.map((e: any) => e.liveChatSessionChanged).find((s: any) => s.id !== session.id);
    expect(next.operator.name).toBe(`${name} Olga`);
    await waitFor(async () => (await second.locator('.msg.visitor:not(.pending)').count()) === 1, { what: 'the new message stored' });
    expect(await visibleBodies(second)).toEqual(['Welcome back?', 'Back about the parcel']);

    // The old token was tried once, by HTTP (refused, or the session read CLOSED), and never again:
    // the window showing at all means the resume's retrying ended (the widget renders after it);
    // no socket carried it.
    const withOldToken = authorized.filter((a) => a.visit === 2 && a.token === stored.token);
    expect(withOldToken).toEqual([{ visit: 2, token: stored.token, query: expect.stringContaining('liveChatSession'), status: answer }]);
    expect(socketInits.filter((init) => init.visit === 2 && init.payload.includes(stored.token))).toEqual([]);
    // The new chat's token is used over HTTP and on the visitor's socket.
    expect(authorized.some((a) => a.visit === 2 && a.token !== stored.token && a.status === 200)).toBe(true);
    expect(socketInits.some((init) => init.visit === 2 && init.payload.includes('Bearer'))).toBe(true);
    messages.dispose();
    await context.close();
  }

  describe('after its stored token expired', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ LIVECHAT_VISITOR_TOKEN_DAYS: '0.00002', TOKEN_CACHE_MS: '50', LIVECHAT_SWEEP_INTERVAL_MS: '200' });
    });
    afterAll(async () => {
      await server?.stop();
    });
    it('is refused once (401), not retried, gets a fresh chat without an error, and the new chat names the old one and goes to the same operator', () => comesBack(server, 'Expired Chat', 'token expired'), 90_000);
  });

  describe('after its chat was closed, the token still good', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
    });
    afterAll(async () => {
      await server?.stop();
    });
    it('reads the session CLOSED once, gets a fresh chat without an error, and the new chat names the old one and goes to the same operator', () => comesBack(server, 'Closed Chat', 'closed'), 90_000);
  });
});

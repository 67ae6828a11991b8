import { GraphQLClient } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { publishedRichForm } from '../webform/support.js';
import { addOperators, createChatTeam, createOperator, goOnline, request, USER_ERRORS } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ TRUSTED_COUNTRY_HEADER: 'CF-IPCountry', TRUSTED_PROXIES: '127.0.0.1', FORM_RATE_LIMIT_PER_HOUR: '3' });
});
afterAll(async () => {
  await server?.stop();
});

/** An anonymous client as a visitor's browser behind the trusted proxy: its address, and the proxy's country header when given. */
function visitor(address: string, country?: string) {
  return new GraphQLClient(server.graphqlUrl, { headers: { 'x-forwarded-for': address, ...(country ? { 'cf-ipcountry': country } : {}) } });
}

const OWNER_FIELDS = 'key embedCode directLinkUrl allowedOrigins offlineBehavior rules { id urlPattern action autoPopupSeconds countries sequence }';
const CHANNEL_OWNER = `query ($id: ID!) { liveChatChannel(id: $id) { ${OWNER_FIELDS} } }`;
const UPDATE = `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { channel { allowedOrigins offlineBehavior } ${USER_ERRORS} } }`;
const CREATE_RULE = `mutation ($input: CreateLiveChatRuleInput!) { createLiveChatRule(input: $input) { rule { id urlPattern action autoPopupSeconds countries sequence } ${USER_ERRORS} } }`;
const UPDATE_RULE = `mutation ($input: UpdateLiveChatRuleInput!) { updateLiveChatRule(input: $input) { rule { id urlPattern action autoPopupSeconds countries sequence } ${USER_ERRORS} } }`;
const DELETE_RULE = `mutation ($input: DeleteLiveChatRuleInput!) { deleteLiveChatRule(input: $input) { deletedId ${USER_ERRORS} } }`;
const WIDGET = `query ($key: String!, $pageUrl: String) { liveChatWidget(channelKey: $key, pageUrl: $pageUrl) {
  channelId name buttonText welcomeMessage inputPlaceholder headerBackgroundColor titleColor buttonBackgroundColor buttonTextColor action autoPopupSeconds available offlineBehavior } }`;
const LEAVE = `mutation ($input: LeaveLiveChatMessageInput!) { leaveLiveChatMessage(input: $input) { ticketNumber ${USER_ERRORS} } }`;

async function keyOf(channelId: string): Promise<string> {
  const { liveChatChannel } = await request(server, undefined as any, CHANNEL_OWNER, { id: channelId });
  return liveChatChannel.key;
}

describe("the channel's widget settings", () => {
  it('gives each channel its own random key, embed code and direct link, for its operators and admins only', async () => {
    const a = await createChatTeam(server, 'Widget Keys A');
    const b = await createChatTeam(server, 'Widget Keys B');
    const { liveChatChannel } = await request(server, undefined as any, CHANNEL_OWNER, { id: a.channelId });
    expect(liveChatChannel.key).toMatch(/^[0-9a-f]{32}$/);
    expect(await keyOf(b.channelId)).not.toBe(liveChatChannel.key);
    expect(liveChatChannel.embedCode).toBe(`<script src="${server.app.publicUrl}/livechat/loader.js" data-channel="${liveChatChannel.key}" async></script>`);
    expect(liveChatChannel.directLinkUrl).toBe(`${server.app.publicUrl}/chat/${liveChatChannel.key}`);
    expect(liveChatChannel).toMatchObject({ allowedOrigins: [], offlineBehavior: 'LEAVE_MESSAGE', rules: [] });

    const operator = await createOperator(server, 'Widget Keys Operator');
    await addOperators(server, a.channelId, [operator]);
    expect((await request(server, operator.token, CHANNEL_OWNER, { id: a.channelId })).liveChatChannel.key).toBe(liveChatChannel.key);
    // Another agent is refused each field, as it is refused `operators`; the channel's name stays readable.
    const stranger = await createToken(server, 'AGENT', 'Widget Keys Stranger');
    for (const field of ['key', 'embedCode', 'directLinkUrl', 'allowedOrigins', 'offlineBehavior', 'rules { id }']) {
      const refused = await server.client(stranger).rawRequest(`query ($id: ID!) { team(id: $id) { liveChatChannel { ${field} } } }`, { id: a.team.id }).catch((err) => err.response);
      expect(refused.errors.map((e: any) => [e.path.at(-1), e.extensions.code]), field).toEqual([[field.split(' ')[0], 'FORBIDDEN']]);
    }
    expect((await server.client(stranger).request<any>(`query ($id: ID!) { team(id: $id) { liveChatChannel { name } } }`, { id: a.team.id })).team.liveChatChannel.name).toBe('Widget Keys A');
  });

  it('takes allowed origins written scheme://host[:port] and an offline behaviour', async () => {
    const { channelId } = await createChatTeam(server, 'Widget Origins');
    const bad = await request(server, undefined as any, UPDATE, { input: { channelId, allowedOrigins: ['https://shop.example.com', 'https://shop.example.com/page'] } });
    expect(bad.updateLiveChatChannel.userErrors).toEqual([{ field: ['input', 'allowedOrigins'], code: 'INVALID_URL', message: expect.stringContaining('scheme://host[:port]') }]);
    const good = await request(server, undefined as any, UPDATE, { input: { channelId, allowedOrigins: ['HTTPS://Shop.Example.com', 'http://localhost:8080'], offlineBehavior: 'HIDE' } });
    expect(good.updateLiveChatChannel).toEqual({ channel: { allowedOrigins: ['https://shop.example.com', 'http://localhost:8080'], offlineBehavior: 'HIDE' }, userErrors: [] });
  });
});

describe('channel rules', () => {
  it('are created, changed and deleted by operators, checked on save', async () => {
    const { channelId } = await createChatTeam(server, 'Widget Rules');
    const operator = await createOperator(server, 'Rules Operator');
    await addOperators(server, channelId, [operator]);
    const created = await request(server, operator.token, CREATE_RULE, { input: { channelId, urlPattern: '/pricing', action: 'AUTO_POPUP', autoPopupSeconds: 2, countries: ['be', 'FR'], sequence: 5 } });
    expect(created.createLiveChatRule).toEqual({
      rule: { id: expect.any(String), urlPattern: '/pricing', action: 'AUTO_POPUP', autoPopupSeconds: 2, countries: ['BE', 'FR'], sequence: 5 },
      userErrors: [],
    });
    const ruleId = created.createLiveChatRule.rule.id;

    const invalidPattern = await request(server, operator.token, UPDATE_RULE, { input: { ruleId, urlPattern: '/docs/(v1' } });
    expect(invalidPattern.updateLiveChatRule.userErrors).toEqual([{ field: ['input', 'urlPattern'], code: 'INVALID_PATTERN', message: expect.stringMatching(/missing closing \).*at character 10/) }]);
    const tooLong = await request(server, operator.token, CREATE_RULE, { input: { channelId, urlPattern: 'a'.repeat(501), action: 'HIDE_BUTTON' } });
    expect(tooLong.createLiveChatRule.userErrors[0].code).toBe('INVALID_PATTERN');
    const invalidCountry = await request(server, operator.token, UPDATE_RULE, { input: { ruleId, countries: ['BE', 'UK'] } });
    expect(invalidCountry.updateLiveChatRule.userErrors).toEqual([{ field: ['input', 'countries'], code: 'INVALID_COUNTRY', message: expect.stringContaining('"UK"') }]);

    const changed = await request(server, operator.token, UPDATE_RULE, { input: { ruleId, action: 'HIDE_BUTTON', countries: [] } });
    expect(changed.updateLiveChatRule.rule).toMatchObject({ urlPattern: '/pricing', action: 'HIDE_BUTTON', countries: [], sequence: 5 });
    expect((await request(server, operator.token, CHANNEL_OWNER, { id: channelId })).liveChatChannel.rules).toEqual([changed.updateLiveChatRule.rule]);

    // Someone who does not operate the channel finds no such rule.
    const stranger = await createOperator(server, 'Rules Stranger');
    expect((await request(server, stranger.token, DELETE_RULE, { input: { ruleId } })).deleteLiveChatRule.userErrors[0].code).toBe('NOT_FOUND');
    expect((await request(server, stranger.token, CREATE_RULE, { input: { channelId, action: 'HIDE_BUTTON' } })).createLiveChatRule.userErrors[0].code).toBe('NOT_FOUND');

    expect(await request(server, operator.token, DELETE_RULE, { input: { ruleId } })).toEqual({ deleteLiveChatRule: { deletedId: ruleId, userErrors: [] } });
    expect((await request(server, operator.token, CHANNEL_OWNER, { id: channelId })).liveChatChannel.rules).toEqual([]);
  });
});

describe('liveChatWidget', () => {
  it("gives the widget the channel's texts and colours and the rule of the page and the visitor's country", async () => {
    const { channelId } = await createChatTeam(server, 'Widget Visit');
    const key = await keyOf(channelId);
    for (const input of [
      { urlPattern: '/pricing', action: 'HIDE_BUTTON', sequence: 10 },
      { urlPattern: '/pricing', action: 'AUTO_POPUP', autoPopupSeconds: 3, countries: ['BE'], sequence: 20 },
      { urlPattern: '', action: 'DISPLAY_BUTTON_AND_TEXT', countries: ['GB'], sequence: 30 },
    ]) {
      expect((await request(server, undefined as any, CREATE_RULE, { input: { channelId, ...input } })).createLiveChatRule.userErrors).toEqual([]);
    }
    const anonymous = visitor('203.0.113.10');
    const { liveChatWidget } = await anonymous.request<any>(WIDGET, { key, pageUrl: 'https://shop.test/about' });
    expect(liveChatWidget).toEqual({
      channelId,
      name: 'Widget Visit',
      buttonText: 'Have a Question? Chat with us.',
      welcomeMessage: 'How may I help you?',
      inputPlaceholder: 'Say something...',
      headerBackgroundColor: '#875A7B',
      titleColor: '#FFFFFF',
      buttonBackgroundColor: '#875A7B',
      buttonTextColor: '#FFFFFF',
      action: 'DISPLAY_BUTTON',
      autoPopupSeconds: 0,
      available: false,
      offlineBehavior: 'LEAVE_MESSAGE',
    });
    const action = async (client: GraphQLClient, pageUrl: string) => {
      const { liveChatWidget: w } = await client.request<any>(WIDGET, { key, pageUrl });
      return [w.action, w.autoPopupSeconds];
    };
    expect(await action(anonymous, 'https://shop.test/en/pricing?x=1')).toEqual(['HIDE_BUTTON', 0]);
    // The trusted proxy's header says Belgium.
    expect(await action(visitor('203.0.113.10', 'BE'), 'https://shop.test/en/pricing')).toEqual(['AUTO_POPUP', 3]);
    // No header: the offline table places 81.2.69.160 in Great Britain.
    expect(await action(visitor('81.2.69.160'), 'https://shop.test/about')).toEqual(['DISPLAY_BUTTON_AND_TEXT', 0]);
    expect(await action(visitor('81.2.69.160', 'XX'), 'https://shop.test/about')).toEqual(['DISPLAY_BUTTON_AND_TEXT', 0]);

    expect((await anonymous.request<any>(WIDGET, { key: 'no-such-key' })).liveChatWidget).toBeNull();
  });

  it('says available once an operator accepts and is connected; startLiveChat keeps the country', async () => {
    const { channelId } = await createChatTeam(server, 'Widget Available');
    const key = await keyOf(channelId);
    const operator = await createOperator(server, 'Available Operator');
    await addOperators(server, channelId, [operator]);
    await goOnline(server, channelId, operator);
    expect((await visitor('203.0.113.11').request<any>(WIDGET, { key })).liveChatWidget.available).toBe(true);

    const START = `mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) { session { id } ${USER_ERRORS} } }`;
    const started = await visitor('203.0.113.11', 'NL').request<any>(START, { input: { channelId } });
    const { liveChatSession } = await request(server, undefined as any, `query ($id: ID!) { liveChatSession(id: $id) { country } }`, { id: started.startLiveChat.session.id });
    expect(liveChatSession.country).toBe('NL');
  });
});

describe('leaveLiveChatMessage', () => {
  it("makes a ticket of the channel's team, with the page in the description", async () => {
    const { channelId } = await createChatTeam(server, 'Widget Offline');
    const key = await keyOf(channelId);
    const { leaveLiveChatMessage } = await visitor('203.0.113.20').request<any>(LEAVE, {
      input: { channelKey: key, name: 'Dana Visitor', email: 'dana@example.com', message: 'Do you ship to Iceland?\nThanks', pageUrl: 'https://shop.test/shipping' },
    });
    expect(leaveLiveChatMessage).toEqual({ ticketNumber: expect.any(Number), userErrors: [] });
    const { tickets } = await request(server, undefined as any, `{ tickets(first: 100) { edges { node { number title channel description source { kind } team { name } customer { email } } } } }`);
    const ticket = tickets.edges.map((e: any) => e.node).find((t: any) => t.number === leaveLiveChatMessage.ticketNumber);
    expect(ticket).toEqual({
      number: leaveLiveChatMessage.ticketNumber,
      title: 'Do you ship to Iceland?',
      channel: 'LIVE_CHAT',
      description: expect.stringContaining('https://shop.test/shipping'),
      source: null,
      team: { name: 'Widget Offline' },
      customer: { email: 'dana@example.com' },
    });
  });

  it('refuses a filled trap field, bad input and a flooding address', async () => {
    const { channelId } = await createChatTeam(server, 'Widget Abuse');
    const key = await keyOf(channelId);
    const input = { channelKey: key, name: 'Bot', email: 'bot@example.com', message: 'Buy now' };
    const leave = async (client: GraphQLClient, extra: Record<string, unknown> = {}) => (await client.request<any>(LEAVE, { input: { ...input, ...extra } })).leaveLiveChatMessage;
    expect(await leave(visitor('203.0.113.30'), { websiteUrl: 'https://spam.test' })).toEqual({ ticketNumber: null, userErrors: [{ field: null, code: 'REJECTED', message: expect.any(String) }] });
    expect((await leave(visitor('203.0.113.30'), { email: 'not-an-address' })).userErrors[0]).toMatchObject({ field: ['input', 'email'], code: 'INVALID_EMAIL' });
    expect((await leave(visitor('203.0.113.30'), { channelKey: 'nope' })).userErrors[0]).toMatchObject({ code: 'NOT_FOUND' });
    // FORM_RATE_LIMIT_PER_HOUR is 3, one count per address shared with the website form.
    const flooding = visitor('203.0.113.31');
    for (let i = 0; i < 2; i++) expect((await leave(flooding)).userErrors).toEqual([]);
    const { teamId } = await publishedRichForm(server, 'Widget Abuse Form');
    const values = Object.entries({ name: 'Bot', email: 'bot@example.com', subject: 'Buy now', kind: 'question', description: 'Buy now' }).map(([k, value]) => ({ key: k, value }));
    const SUBMIT = `mutation ($input: SubmitWebsiteFormInput!) { submitWebsiteForm(input: $input) { ticketNumber ${USER_ERRORS} } }`;
    expect((await flooding.request<any>(SUBMIT, { input: { teamId, values } })).submitWebsiteForm.userErrors).toEqual([]);
    expect(await leave(flooding)).toEqual({ ticketNumber: null, userErrors: [{ field: null, code: 'RATE_LIMITED', message: expect.stringMatching(/retry in \d+ seconds/) }] });
    // The refusal says when to retry: the hour's window ends within the hour.
    const { leaveLiveChatMessage } = await flooding.request<any>(`mutation ($input: LeaveLiveChatMessageInput!) { leaveLiveChatMessage(input: $input) { userErrors { code retryAfterSeconds } } }`, { input });
    expect(leaveLiveChatMessage.userErrors).toEqual([{ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) }]);
    expect(leaveLiveChatMessage.userErrors[0].retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(leaveLiveChatMessage.userErrors[0].retryAfterSeconds).toBeLessThanOrEqual(3600);
    expect((await flooding.request<any>(SUBMIT, { input: { teamId, values } })).submitWebsiteForm.userErrors[0].code).toBe('RATE_LIMITED');
    // Another address is not held back.
    expect((await leave(visitor('203.0.113.32'))).userErrors).toEqual([]);
  });
});

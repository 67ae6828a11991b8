import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from 'graphql-request';
import { createTeam, createTicket } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';
import { waitFor } from '../support/wait.js';
import { addOperators, bodies, createChatTeam, createOperator, goOnline, send, startChat } from '../livechat/support.js';

/**
 * Every length limit on text counts code points and every cut keeps whole code points: an emoji
 * (two UTF-16 units) is one character wherever a limit applies, and no cut leaves half of one.
 */
const EMOJI = '😀';
const emoji = (n: number) => EMOJI.repeat(n);
const letters = (n: number) => 'a'.repeat(n);
const codePoints = (text: string) => [...text].length;
const hasLoneSurrogate = (text: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ LIVECHAT_MESSAGES_PER_MINUTE: '1000' });
});
afterAll(async () => {
  await server?.stop();
});

async function ticketsOf(teamId: string) {
  const { team } = await server.client().request<any>(
    gql`query ($id: ID!) { team(id: $id) { tickets(first: 50) { nodes { title description customer { name } } } } }`,
    { id: teamId },
  );
  return team.tickets.nodes as { title: string; description: string; customer: { name: string | null } | null }[];
}

async function inboundOf(subjectStart: string) {
  const { inboundMails } = await server.client().request<any>(gql`{ inboundMails(first: 100) { nodes { status reason subject } } }`);
  return (inboundMails.nodes as any[]).find((m) => m.subject?.startsWith(subjectStart));
}

describe('one cutting rule for every text limit', () => {
  it('makes a mail with an astral subject, sender name and body a ticket with whole characters, never a quarantine', async () => {
    const team = await createTeam(server, 'Astral Mail', { useEmailAlias: true });
    const to = `astral-mail@intake.test`;
    const cases = [
      { subject: emoji(160), title: emoji(160) },
      { subject: `${letters(299)}${EMOJI}`, title: `${letters(299)}${EMOJI}` },
      { subject: `${letters(299)}${emoji(2)}`, title: `${letters(299)}${EMOJI}` },
      { subject: emoji(400), title: emoji(300) },
    ];
    for (const [i, c] of cases.entries()) {
      const sent = await deliver(server.smtpPort, {
        from: `sender${i}@example.com`,
        to,
        // A display name of 150 emoji fits the 200-character name; a body of 100,001 emoji the 200,000-character description.
        raw: mail({ from: `=?UTF-8?B?${Buffer.from(emoji(150)).toString('base64')}?= <sender${i}@example.com>`, to, subject: `=?UTF-8?B?${Buffer.from(c.subject).toString('base64')}?=`, body: i === 0 ? emoji(100_001) : 'Hello' }),
      });
      expect(sent.ok).toBe(true);
    }
    await waitFor(async () => (await ticketsOf(team.id)).length === cases.length, { what: 'four tickets from mail' });
    const tickets = await ticketsOf(team.id);
    expect(tickets.map((t) => t.title).sort()).toEqual(cases.map((c) => c.title).sort());
    for (const t of tickets) {
      expect(hasLoneSurrogate(t.title)).toBe(false);
      expect(t.customer?.name).toBe(emoji(150));
    }
    expect(codePoints(tickets.find((t) => t.title === emoji(160))!.description)).toBe(100_001);
    expect(await inboundOf(emoji(10))).toMatchObject({ status: 'PROCESSED', reason: null });
  });

  it('counts code points in the API limits: 300 emoji make a title, 301 are too long', async () => {
    const team = await createTeam(server, 'Astral API');
    const create = (title: string, customerName: string) =>
      server.client().request<any>(gql`mutation ($input: CreateTicketInput!) { createTicket(input: $input) { ticket { title customer { name } } userErrors { field code } } }`, {
        input: { teamId: team.id, title, customerName },
      });
    expect((await create(emoji(300), emoji(200))).createTicket).toEqual({ ticket: { title: emoji(300), customer: { name: emoji(200) } }, userErrors: [] });
    expect((await create(emoji(301), emoji(201))).createTicket.userErrors).toEqual([
      { field: ['input', 'title'], code: 'TOO_LONG' },
      { field: ['input', 'customerName'], code: 'TOO_LONG' },
    ]);
    // Names of teams (and the chat channel cut from them) count the same way.
    const { createTeam: named } = await server.client().request<any>(
      gql`mutation ($n: String!) { createTeam(input: { name: $n, useLiveChat: true }) { team { name liveChatChannel { name } } userErrors { code } } }`,
      { n: emoji(120) },
    );
    expect(named).toEqual({ team: { name: emoji(120), liveChatChannel: { name: emoji(120) } }, userErrors: [] });
  });

  it('takes a website form subject of 300 emoji as the title', async () => {
    const team = await createTeam(server, 'Astral Form', { useWebsiteForm: true });
    await server.client().request(gql`mutation ($t: ID!) { publishWebsiteForm(input: { teamId: $t }) { websiteForm { published } } }`, { t: team.id });
    const submit = (subject: string) =>
      server.client(null).request<any>(gql`mutation ($input: SubmitWebsiteFormInput!) { submitWebsiteForm(input: $input) { ticketNumber userErrors { field code } } }`, {
        input: { teamId: team.id, values: [{ key: 'name', value: emoji(200) }, { key: 'email', value: 'form@example.com' }, { key: 'subject', value: subject }, { key: 'description', value: emoji(20_000) }] },
      });
    expect((await submit(emoji(300))).submitWebsiteForm).toEqual({ ticketNumber: expect.any(Number), userErrors: [] });
    expect((await submit(emoji(301))).submitWebsiteForm.userErrors).toEqual([{ field: ['subject'], code: 'TOO_LONG' }]);
    expect((await ticketsOf(team.id)).map((t) => t.title)).toEqual([emoji(300)]);
  });

  it('cuts a /helpdesk title and a long chat transcript at whole characters, and counts chat names and bodies in code points', async () => {
    const { team, channelId } = await createChatTeam(server, 'Astral Chat');
    const ann = await createOperator(server, 'Astral Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: emoji(120) });
    expect(chat.userErrors).toEqual([]);
    expect(chat.session.visitorName).toBe(emoji(120));
    const sessionId = chat.session.id;
    expect((await send(server, chat.visitorToken, { sessionId, body: emoji(4000) })).userErrors).toEqual([]);
    expect((await send(server, chat.visitorToken, { sessionId, body: emoji(4001) })).userErrors).toEqual([expect.objectContaining({ field: ['input', 'body'], code: 'TOO_LONG' })]);

    const command = await send(server, ann.token, { sessionId, body: `/helpdesk ${letters(299)}${emoji(2)}` });
    expect(command.userErrors).toEqual([]);
    // Without a title the ticket is named after the visitor: 120 emoji and "'s chat", cut to 300 code points whole.
    await send(server, ann.token, { sessionId, body: '/helpdesk' });
    await waitFor(async () => (await ticketsOf(team.id)).length === 2, { what: 'two tickets from /helpdesk' });
    const titles = (await ticketsOf(team.id)).map((t) => t.title).sort();
    expect(titles).toEqual([`${emoji(120)}'s chat`, `${letters(299)}${EMOJI}`].sort());
    expect((await bodies(server, ann.token, sessionId)).filter((b) => b.startsWith('Ticket #'))).toHaveLength(2);
  });

  it('counts tag names, page URLs and rule URL patterns in code points', async () => {
    const team = await createTeam(server, 'Astral Limits', { useLiveChat: true });
    const ticket = await createTicket(server, { teamId: team.id, title: 'Tagged' });
    const tag = (name: string) =>
      server.client().request<any>(gql`mutation ($t: ID!, $tags: [String!]!) { setTicketTags(input: { ticketId: $t, tags: $tags }) { ticket { tags { name } } userErrors { code } } }`, { t: ticket.id, tags: [name] });
    expect((await tag(emoji(60))).setTicketTags).toEqual({ ticket: { tags: [{ name: emoji(60) }] }, userErrors: [] });
    expect((await tag(emoji(61))).setTicketTags.userErrors).toEqual([{ code: 'TOO_LONG' }]);

    const { team: read } = await server.client().request<any>(gql`query ($id: ID!) { team(id: $id) { liveChatChannel { id key } } }`, { id: team.id });
    const { id: channelId, key } = read.liveChatChannel;
    const rule = (urlPattern: string) =>
      server.client().request<any>(gql`mutation ($input: CreateLiveChatRuleInput!) { createLiveChatRule(input: $input) { rule { id } userErrors { code } } }`, {
        input: { channelId, urlPattern, action: 'HIDE_BUTTON' },
      });
    expect((await rule(emoji(501))).createLiveChatRule.userErrors).toEqual([{ code: 'INVALID_PATTERN' }]);
    expect((await rule(emoji(500))).createLiveChatRule.userErrors).toEqual([]);

    // 2000 code points, 3980 UTF-16 units: a page URL as long as a page URL may be.
    const pageUrl = `https://shop.example/${emoji(1979)}`;
    expect(codePoints(pageUrl)).toBe(2000);
    const widget = await server.client(null).request<any>(gql`query ($k: String!, $u: String) { liveChatWidget(channelKey: $k, pageUrl: $u) { action } }`, { k: key, u: pageUrl });
    expect(widget.liveChatWidget.action).toBe('HIDE_BUTTON');
    const left = await server.client(null).request<any>(
      gql`mutation ($input: LeaveLiveChatMessageInput!) { leaveLiveChatMessage(input: $input) { ticketNumber userErrors { field code } } }`,
      { input: { channelKey: key, name: 'Pia', email: 'pia@example.com', message: 'Hello', pageUrl } },
    );
    expect(left.leaveLiveChatMessage).toEqual({ ticketNumber: expect.any(Number), userErrors: [] });
  });

  it('cuts a transcript longer than a description at a whole character', async () => {
    const { team, channelId } = await createChatTeam(server, 'Astral Transcript');
    const bob = await createOperator(server, 'Astral Bob');
    await addOperators(server, channelId, [bob]);
    await goOnline(server, channelId, bob);
    // Lines "V: " + 4000 emoji: their pairs start at odd offsets, so a cut by UTF-16 units at 200,000 would split one.
    const chat = await startChat(server, { channelId, visitorName: 'V' });
    const sessionId = chat.session.id;
    for (let i = 0; i < 50; i++) {
      const sent = await send(server, chat.visitorToken, { sessionId, body: emoji(4000) });
      if (sent.userErrors.length) throw new Error(JSON.stringify(sent.userErrors));
    }
    expect((await send(server, bob.token, { sessionId, body: '/helpdesk Long talk' })).userErrors).toEqual([]);
    await waitFor(async () => (await ticketsOf(team.id)).length === 1, { what: 'the ticket of a long chat', timeout: 30_000 });
    const [ticket] = await ticketsOf(team.id);
    expect(codePoints(ticket!.description)).toBe(200_000);
    expect(hasLoneSurrogate(ticket!.description)).toBe(false);
  }, 120_000);
});

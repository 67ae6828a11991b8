import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, untilSubscribed, type TestServer } from '../support/server.js';
import { publishedRichForm } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ FORM_RATE_LIMIT_PER_HOUR: '1000' });
});
afterAll(async () => {
  await server?.stop();
});

const SUBMIT = gql`mutation ($input: SubmitWebsiteFormInput!) { submitWebsiteForm(input: $input) { ticketNumber successMessage userErrors { field code message retryAfterSeconds } } }`;
const values = (v: Record<string, string>) => Object.entries(v).map(([key, value]) => ({ key, value }));
const good = { name: 'Ann Lee', email: 'ann@example.com', subject: 'App crashes', kind: 'bug', version: '2.1', description: 'It crashes on start.' };

describe('website form through GraphQL', () => {
  it('gives a team switching the channel on an unpublished default form', async () => {
    const { createTeam } = await server.client().request<any>(gql`mutation { createTeam(input: { name: "Form Defaults", useWebsiteForm: true }) { team { id websiteForm { published url title fields { key mapsTo inputType required } } } } }`);
    const form = createTeam.team.websiteForm;
    expect(form).toMatchObject({ published: false, url: expect.stringMatching(/\/support\/form-defaults$/) });
    expect(form.fields.map((f: any) => [f.key, f.mapsTo, f.required])).toEqual([
      ['name', 'CUSTOMER_NAME', true],
      ['email', 'CUSTOMER_EMAIL', true],
      ['phone', 'CUSTOMER_PHONE', false],
      ['subject', 'TITLE', true],
      ['description', 'DESCRIPTION', true],
    ]);
    const anonymous = await server.client(null).request<any>(SUBMIT, { input: { teamId: createTeam.team.id, values: values(good) } });
    expect(anonymous.submitWebsiteForm.userErrors).toEqual([expect.objectContaining({ field: null, code: 'FORM_NOT_PUBLISHED' })]);
  });

  it('takes a submission with every kind of field, anonymously, and reveals only the ticket number', async () => {
    const { teamId } = await publishedRichForm(server, 'Form Rich');
    const sub = subscribe(server.wsClient(), `subscription ($t: ID) { ticketCreated(teamId: $t) { node { title channel } } }`, { t: teamId });
    await untilSubscribed(server, 1);
    const result = await server.client(null).request<any>(SUBMIT, {
      input: { teamId, values: values({ ...good, phone: '+32 2 555 01 01', company: 'ACME', urgency: 'URGENT', site: 'https://acme.example', seats: '3', since: '2026-10-01', consent: 'on', source: 'forged', website_url: '' }) },
    });
    expect(result.submitWebsiteForm).toEqual({ ticketNumber: expect.any(Number), successMessage: 'Thanks! We are on it.', userErrors: [] });
    const [event] = await sub.waitFor(1);
    expect(event.ticketCreated.node).toEqual({ title: 'App crashes', channel: 'WEBSITE_FORM' });
    sub.dispose();

    const { tickets } = await server.client().request<any>(
      gql`query ($t: ID!) { tickets(filter: { teamId: $t }) { nodes { number title priority description customer { name email } messages { nodes { origin { clientAddress userAgent language } } } } } }`,
      { t: teamId },
    );
    const [ticket] = tickets.nodes;
    expect(ticket).toMatchObject({ number: result.submitWebsiteForm.ticketNumber, title: 'App crashes', priority: 'URGENT', customer: { name: 'Ann Lee', email: 'ann@example.com' } });
    expect(ticket.description).toBe(
      'It crashes on start.\n\nOther information\nPhone: +32 2 555 01 01\nCompany: ACME\nKind: Bug\nVersion: 2.1\nWeb site: https://acme.example\nSeats: 3\nSince: 2026-10-01\nKeep me informed: yes\nSource: website',
    );
    expect(ticket.messages.nodes[0].origin).toMatchObject({ clientAddress: expect.stringMatching(/127\.0\.0\.1/), userAgent: expect.any(String) });
  });

  it('cleans what people type as chat does: no C0 controls, no bidirectional overrides', async () => {
    const { teamId } = await publishedRichForm(server, 'Form Clean');
    // U+202E would show "Paul\u202Egnp.exe" as "Paulexe.png" wherever the name is listed.
    const result = await server.client(null).request<any>(SUBMIT, {
      input: { teamId, values: values({ ...good, email: 'paul.clean@example.com', name: 'Paul\u0007\u202Egnp.exe\u2066x\u2069', subject: 'see\u202E fdp.exe', description: 'line\u0001 one\nline two' }) },
    });
    expect(result.submitWebsiteForm.userErrors).toEqual([]);
    const { ticketByNumber } = await server.client().request<any>(gql`query ($n: Int!) { ticketByNumber: ticket(number: $n) { title description customer { name } } }`, { n: result.submitWebsiteForm.ticketNumber });
    expect(ticketByNumber.customer.name).toBe('Paulgnp.exex');
    expect(ticketByNumber.title).toBe('see fdp.exe');
    expect(ticketByNumber.description.startsWith('line one\nline two')).toBe(true);
  });

  it('names the field key of every problem, and requires a conditional field only when it is shown', async () => {
    const { teamId } = await publishedRichForm(server, 'Form Checks');
    const bad = await server.client(null).request<any>(SUBMIT, {
      input: { teamId, values: values({ ...good, email: 'nope', phone: 'call me', site: 'ftp://x', seats: 'many', since: '2026-02-30', urgency: 'BLOCKER', kind: 'bug', version: '' }) },
    });
    expect(bad.submitWebsiteForm.ticketNumber).toBeNull();
    expect(bad.submitWebsiteForm.userErrors.map((e: any) => [e.field, e.code])).toEqual([
      [['email'], 'INVALID_FORMAT'],
      [['phone'], 'INVALID_FORMAT'],
      [['version'], 'REQUIRED'],
      [['urgency'], 'INVALID_FORMAT'],
      [['site'], 'INVALID_FORMAT'],
      [['seats'], 'INVALID_FORMAT'],
      [['since'], 'INVALID_FORMAT'],
    ]);
    const question = await server.client(null).request<any>(SUBMIT, { input: { teamId, values: values({ ...good, kind: 'question', version: '' }) } });
    expect(question.submitWebsiteForm.userErrors).toEqual([]);
  });

  it('refuses honeypot submissions and unpublished or switched-off forms', async () => {
    const { teamId } = await publishedRichForm(server, 'Form Guard');
    const bot = await server.client(null).request<any>(SUBMIT, { input: { teamId, values: values({ ...good, website_url: 'http://spam.example' }) } });
    expect(bot.submitWebsiteForm.userErrors).toEqual([expect.objectContaining({ code: 'REJECTED' })]);
    await server.client().request(gql`mutation ($t: ID!) { unpublishWebsiteForm(input: { teamId: $t }) { websiteForm { published } } }`, { t: teamId });
    const unpublished = await server.client(null).request<any>(SUBMIT, { input: { teamId, values: values(good) } });
    expect(unpublished.submitWebsiteForm.userErrors).toEqual([expect.objectContaining({ code: 'FORM_NOT_PUBLISHED' })]);
    await server.client().request(gql`mutation ($t: ID!) { publishWebsiteForm(input: { teamId: $t }) { websiteForm { published } } }`, { t: teamId });
    await server.client().request(gql`mutation ($t: ID!) { updateTeam(input: { id: $t, useWebsiteForm: false }) { team { websiteForm { published } } } }`, { t: teamId });
    const off = await server.client(null).request<any>(SUBMIT, { input: { teamId, values: values(good) } });
    expect(off.submitWebsiteForm.userErrors).toEqual([expect.objectContaining({ code: 'FORM_NOT_PUBLISHED' })]);
  });

  it('validates the form definition as a whole, with paths into the field list', async () => {
    const { teamId } = await publishedRichForm(server, 'Form Rules');
    const { updateWebsiteForm } = await server.client().request<any>(
      gql`mutation ($input: UpdateWebsiteFormInput!) { updateWebsiteForm(input: $input) { websiteForm { title } userErrors { field code } } }`,
      {
        input: {
          teamId,
          title: 'Changed',
          fields: [
            { key: 'email', mapsTo: 'CUSTOMER_EMAIL', inputType: 'EMAIL', label: 'Email', required: true },
            { key: 'email', mapsTo: 'TITLE', inputType: 'TEXT', label: 'Subject', required: true },
            { key: 'pick', mapsTo: 'CUSTOM', inputType: 'SELECT', label: 'Pick' },
            { key: 'later', mapsTo: 'CUSTOM', inputType: 'TEXT', label: 'Later', visibility: 'CONDITIONAL', condition: { fieldKey: 'zzz', operator: 'IS_SET' } },
          ],
        },
      },
    );
    expect(updateWebsiteForm.userErrors).toEqual([
      { field: ['input', 'fields', '1', 'key'], code: 'DUPLICATE_KEY' },
      { field: ['input', 'fields', '2', 'options'], code: 'OPTIONS_REQUIRED' },
      { field: ['input', 'fields', '3', 'condition'], code: 'INVALID_CONDITION' },
    ]);
    const { team } = await server.client().request<any>(gql`query ($t: ID!) { team(id: $t) { websiteForm { title fields { key } } } }`, { t: teamId });
    expect(team.websiteForm.title).toBe('Form Rules support');
    expect(team.websiteForm.fields).toHaveLength(14);
  });
});

describe('rate limit', () => {
  it('holds per client address in PostgreSQL', async () => {
    const limited = await startTestServer({ FORM_RATE_LIMIT_PER_HOUR: '2' });
    try {
      const { teamId } = await publishedRichForm(limited, 'Form Limited');
      const send = () => limited.client(null).request<any>(SUBMIT, { input: { teamId, values: values({ ...good, kind: 'question' }) } });
      expect((await send()).submitWebsiteForm.userErrors).toEqual([]);
      expect((await send()).submitWebsiteForm.userErrors).toEqual([]);
      // It says when to retry: the hour's window ends within the hour.
      const [refused] = (await send()).submitWebsiteForm.userErrors;
      expect(refused).toEqual({ field: null, code: 'RATE_LIMITED', message: expect.stringMatching(/retry in \d+ seconds/), retryAfterSeconds: expect.any(Number) });
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(3600);
    } finally {
      await limited.stop();
    }
  });
});

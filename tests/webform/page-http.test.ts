import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from 'graphql-request';
import { startTestServer, type TestServer } from '../support/server.js';
import { publishedRichForm } from './support.js';

let server: TestServer;
let page: string;
let teamId: string;
beforeAll(async () => {
  server = await startTestServer();
  const form = await publishedRichForm(server, 'Page Desk');
  page = new URL(form.url).pathname;
  teamId = form.teamId;
});
afterAll(async () => {
  await server?.stop();
});

const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${page}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) });
const good = { name: 'Noah', email: 'noah@example.com', subject: 'Login fails', kind: 'question', description: 'Cannot log in.' };

describe('the public form page without JavaScript', () => {
  it('renders an accessible form: labels tied to inputs, required marks, hints, placeholders, side blocks, device classes', async () => {
    const res = await fetch(`${server.url}${page}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain('<h1>Page Desk support</h1>');
    expect(html).toContain('<label for="f-name">Your name <span class="req" aria-hidden="true">*</span><span class="sr-only">(required)</span></label>');
    expect(html).toMatch(/<input type="text" id="f-name" name="name" required aria-required="true" placeholder="Jane Doe" value="">/);
    expect(html).toContain('aria-describedby="f-email-hint"');
    expect(html).toContain('<p class="hint" id="f-email-hint">We answer to this address.</p>');
    expect(html).toContain('class="field device-desktop" data-key="company"');
    expect(html).toContain('class="field device-all left" data-key="phone"');
    expect(html).toContain('<h2>Opening hours</h2>');
    expect(html).not.toContain('name="source"');
    expect(html).toContain('data-condition=');
  });

  it('re-renders with the error beside the field and keeps what was typed', async () => {
    const res = await post({ ...good, kind: 'bug', email: 'not-an-address' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('<p class="error" id="f-email-error">This value is not valid.</p>');
    expect(html).toContain('<p class="error" id="f-version-error">This field is required.</p>');
    expect(html).toMatch(/id="f-email" name="email"[^>]*aria-invalid="true"[^>]*value="not-an-address"/);
    expect(html).toContain('role="alert"');
  });

  it('creates the ticket and shows its number', async () => {
    const res = await post(good, { 'user-agent': 'PlainHTTP/1.0', referer: 'https://shop.example/help', 'accept-language': 'nl-BE,nl;q=0.9' });
    expect(res.status).toBe(200);
    const html = await res.text();
    const number = Number(/data-ticket-number>#(\d+)</.exec(html)?.[1]);
    expect(html).toContain('Uw ticketnummer is');
    const { tickets } = await server.client().request<any>(gql`query ($t: ID!) { tickets(filter: { teamId: $t }) { nodes { number title channel messages { nodes { origin { userAgent referer language } } } } } }`, { t: teamId });
    expect(tickets.nodes).toEqual([{ number, title: 'Login fails', channel: 'WEBSITE_FORM', messages: { nodes: [{ origin: { userAgent: 'PlainHTTP/1.0', referer: 'https://shop.example/help', language: 'nl-BE,nl;q=0.9' } }] } }]);
  });

  it('speaks English, French, Dutch and Spanish by Accept-Language', async () => {
    const send = async (lang: string) => (await (await fetch(`${server.url}${page}`, { headers: { 'accept-language': lang } })).text()).match(/<button type="submit">([^<]+)</)?.[1];
    expect(await send('fr-FR,fr;q=0.9,en;q=0.5')).toBe('Envoyer');
    expect(await send('nl')).toBe('Versturen');
    expect(await send('es-ES')).toBe('Enviar');
    expect(await send('de-DE, en;q=0.3')).toBe('Send');
    expect(await send('')).toBe('Send');
  });

  it('lists published forms at /support and answers 404 for unpublished ones', async () => {
    const index = await (await fetch(`${server.url}/support`)).text();
    expect(index).toContain(`<a href="${page}">Page Desk support</a>`);
    await server.client().request(gql`mutation ($t: ID!) { unpublishWebsiteForm(input: { teamId: $t }) { websiteForm { published } } }`, { t: teamId });
    expect((await fetch(`${server.url}${page}`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/support`)).text()).not.toContain(page);
    await server.client().request(gql`mutation ($t: ID!) { publishWebsiteForm(input: { teamId: $t }) { websiteForm { published } } }`, { t: teamId });
  });
});

describe('file fields', () => {
  it('takes an attachment through a multipart POST and refuses the wrong type', async () => {
    const { createTeam } = await server.client().request<any>(gql`mutation { createTeam(input: { name: "Upload Desk", useWebsiteForm: true }) { team { id websiteForm { id fields { key } } } } }`);
    const t = createTeam.team.id;
    expect(createTeam.team.websiteForm.id).toEqual(expect.any(String));
    const fields = [
      { key: 'email', mapsTo: 'CUSTOMER_EMAIL', inputType: 'EMAIL', label: 'Email', required: true },
      { key: 'subject', mapsTo: 'TITLE', inputType: 'TEXT', label: 'Subject', required: true },
      { key: 'screenshot', mapsTo: 'CUSTOM', inputType: 'FILE', label: 'Screenshot', required: true },
      { key: 'description', mapsTo: 'DESCRIPTION', inputType: 'TEXTAREA', label: 'Description' },
    ];
    await server.client().request(gql`mutation ($input: UpdateWebsiteFormInput!) { updateWebsiteForm(input: $input) { userErrors { code } } }`, { input: { teamId: t, fields } });
    const { publishWebsiteForm } = await server.client().request<any>(gql`mutation ($t: ID!) { publishWebsiteForm(input: { teamId: $t }) { websiteForm { url } } }`, { t });
    const url = publishWebsiteForm.websiteForm.url;
    expect(await (await fetch(url)).text()).toContain('enctype="multipart/form-data"');

    const form = (file: Blob, name: string) => {
      const data = new FormData();
      data.set('email', 'file@example.com');
      data.set('subject', 'See attached');
      data.set('description', 'Screenshot attached.');
      data.set('screenshot', file, name);
      return data;
    };
    const wrong = await fetch(url, { method: 'POST', body: form(new Blob(['MZ...'], { type: 'application/x-msdownload' }), 'setup.exe') });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain('<p class="error" id="f-screenshot-error">Send an image, a PDF or a text file.</p>');
    const ok = await fetch(url, { method: 'POST', body: form(new Blob(['%PDF-1.4 shot'], { type: 'application/pdf' }), 'shot.pdf') });
    expect(ok.status).toBe(200);
    const { tickets } = await server.client().request<any>(gql`query ($t: ID!) { tickets(filter: { teamId: $t }) { nodes { messages { nodes { attachments { filename contentType size } } } } } }`, { t });
    expect(tickets.nodes[0].messages.nodes[0].attachments).toEqual([{ filename: 'shot.pdf', contentType: 'application/pdf', size: 13 }]);
  });
});

import { sql } from 'drizzle-orm';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { queryRows } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { ADMIN_TOKEN, graphqlClient, MAIL_DOMAIN } from '../support/server.js';
import { deliver } from '../support/smtp.js';

/**
 * Mail that once got 451 for ever (the database refused it): each trigger must get 250 and a
 * record, PROCESSED or QUARANTINED, and the records must survive a restart on the same database.
 */
let database: TestDatabase;
let app: App;
const config = () =>
  loadConfig({ ...database.env, PORT: '0', HOST: '127.0.0.1', SMTP_PORT: '0', INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, MAIL_DOMAIN, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });

beforeAll(async () => {
  database = await createTestDatabase();
  app = await startApp(config());
});
afterAll(async () => {
  await app?.stop();
  await database?.drop();
});

const client = () => graphqlClient(`${app.http.url}/graphql`, ADMIN_TOKEN);
const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64');
const NUL = '\u0000';

function message(sender: string, to: string, head: string[], body: string[], messageId = `${sender.replace('@', '.')}@torture.example`): Buffer {
  return Buffer.from(
    [`From: ${sender}`, `To: ${to}`, `Message-ID: <${messageId}>`, 'Date: Sat, 21 Nov 2026 09:00:00 +0000', 'MIME-Version: 1.0', ...head, '', ...body, ''].join('\r\n'),
    'latin1',
  );
}

function multipart(sender: string, to: string, head: string[], parts: string[][]): Buffer {
  const b = 'torture-boundary';
  return message(sender, to, [...head, `Content-Type: multipart/mixed; boundary="${b}"`], [...parts.flatMap((p) => [`--${b}`, ...p]), `--${b}--`]);
}

const textPart = ['Content-Type: text/plain; charset=utf-8', '', 'Hello'];
// A lone high surrogate (D83D) then "A", as UTF-16 big-endian.
const loneSurrogate = b64(Buffer.from([0xd8, 0x3d, 0x00, 0x41]));
const emojiSubject = 'a'.repeat(299) + '😀'.repeat(5);
const manyIds = Array.from({ length: 70_000 }, (_, i) => `<r${i}@x>`).join(' ');

/** Each trigger: a name (its sender's local part) and the message to send. */
const triggers: Array<[string, (sender: string, to: string) => Buffer]> = [
  ['nul-body', (s, to) => message(s, to, ['Subject: NUL in the body', 'Content-Type: text/plain; charset=utf-8'], [`before${NUL}after`])],
  ['nul-subject-raw', (s, to) => message(s, to, [`Subject: raw${NUL}subject`, 'Content-Type: text/plain'], ['Hello'])],
  ['nul-subject-encoded', (s, to) => message(s, to, [`Subject: =?utf-8?B?${b64(`enc${NUL}oded`)}?=`, 'Content-Type: text/plain'], ['Hello'])],
  ['nul-html-qp', (s, to) => multipart(s, to, ['Subject: NUL in QP HTML'], [textPart, ['Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', '<p>a=00b</p>']])],
  ['nul-html-base64', (s, to) => multipart(s, to, ['Subject: NUL in base64 HTML'], [textPart, ['Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: base64', '', b64(`<p>a${NUL}b</p>`)]])],
  ['nul-from-name', (s, to) => message(s.replace(/^/, `=?utf-8?B?${b64(`Ann${NUL}Smith`)}?= <`) + '>', to, ['Subject: NUL in the From name', 'Content-Type: text/plain'], ['Hello'])],
  ['nul-message-id', (s, to) => message(s, to, ['Subject: NUL in the Message-ID', 'Content-Type: text/plain'], ['Hello'], `id${NUL}x@torture.example`)],
  [
    'nul-filename',
    (s, to) => multipart(s, to, ['Subject: NUL in a file name'], [textPart, [`Content-Type: text/plain; name="=?utf-8?B?${b64(`a${NUL}b.txt`)}?="`, `Content-Disposition: attachment; filename*=utf-8''a%00b.txt`, '', 'file']]),
  ],
  ['subject-cut-in-emoji', (s, to) => message(s, to, [`Subject: =?utf-8?B?${b64(emojiSubject)}?=`, 'Content-Type: text/plain'], ['Hello'])],
  ['lone-surrogate', (s, to) => message(s, to, [`Subject: =?utf-16be?B?${loneSurrogate}?=`, 'Content-Type: text/plain'], ['Hello'])],
  ['in-reply-to-70000', (s, to) => message(s, to, ['Subject: Many ids', `In-Reply-To: ${manyIds}`, `References: ${manyIds}`, 'Content-Type: text/plain'], ['Hello'])],
];

async function records() {
  const { inboundMails } = await client().request<any>(gql`{ inboundMails(first: 100) { nodes { status reason envelope { mailFrom rcptTo } } } }`);
  return inboundMails.nodes as Array<{ status: string; reason: string | null; envelope: { mailFrom: string; rcptTo: string[] } }>;
}

describe('mail the database once refused', () => {
  it('gets 250 and a record for every trigger, including 990 attachments to 12 aliases; a restart keeps them', async () => {
    const { createTeam } = await client().request<any>(gql`mutation { createTeam(input: { name: "Torture" }) { team { id } userErrors { code } } }`);
    expect(createTeam.userErrors).toEqual([]);
    const to = `torture@${MAIL_DOMAIN}`;
    const expected: string[] = [];
    for (const [name, build] of triggers) {
      const sender = `${name}@sender.example`;
      const raw = build(sender, to);
      const sent = await deliver(app.smtp.port, { from: sender, to, raw });
      expect({ name, sent }).toEqual({ name, sent: { ok: true, response: expect.stringMatching(/^250 /) } });
      expected.push(sender);
    }

    const aliases: string[] = [];
    for (let i = 1; i <= 12; i++) {
      const { createTeam: team } = await client().request<any>(gql`mutation ($name: String!) { createTeam(input: { name: $name }) { userErrors { code } } }`, { name: `Wide ${i}` });
      expect(team.userErrors).toEqual([]);
      aliases.push(`wide-${i}@${MAIL_DOMAIN}`);
    }
    const files = Array.from({ length: 990 }, (_, i) => [`Content-Type: text/plain; name="f${i}.txt"`, `Content-Disposition: attachment; filename="f${i}.txt"`, '', `file ${i}`]);
    const wide = multipart('wide@sender.example', aliases.join(', '), ['Subject: 990 attachments'], [textPart, ...files]);
    const sentWide = await deliver(app.smtp.port, { from: 'wide@sender.example', to: aliases, raw: wide });
    expect(sentWide).toEqual({ ok: true, response: expect.stringMatching(/^250 /) });

    const check = async () => {
      const rows = await records();
      for (const sender of expected) {
        const found = rows.filter((r) => r.envelope.mailFrom === sender);
        expect({ sender, statuses: found.map((r) => r.status) }).toEqual({ sender, statuses: [expect.stringMatching(/^(PROCESSED|QUARANTINED)$/)] });
      }
      const wideRows = rows.filter((r) => r.envelope.mailFrom === 'wide@sender.example');
      expect(wideRows).toHaveLength(12);
      for (const r of wideRows) expect(['PROCESSED', 'QUARANTINED']).toContain(r.status);
    };
    await check();
    // The mail to 12 aliases is kept once, not 12 times.
    const [{ n }] = (await queryRows<{ n: number }>(app.database.db, sql`select count(distinct raw_mail_id)::int as n from inbound_mails where envelope->>'mailFrom' = 'wide@sender.example'`)) as [{ n: number }];
    expect(n).toBe(1);

    await app.stop();
    app = await startApp(config());
    await check();
  });
});

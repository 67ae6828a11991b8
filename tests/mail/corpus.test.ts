import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam } from '../support/fixtures.js';
import { MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';
import { root } from '../support/databases.js';

const corpus = path.join(root, 'tests/fixtures/mail-corpus');

function emlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return emlFiles(full);
    // Every message file: most end in .eml, one (sample_output_multipart) has no extension.
    return name === 'README.md' || name.startsWith('LICENSE') ? [] : [full];
  });
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('the real-world mail corpus', () => {
  it('gets a 2xx or 5xx for every message, keeps every accepted one, and stays up', async () => {
    const files = emlFiles(corpus).sort();
    expect(files).toHaveLength(104);
    const team = await createTeam(server, 'Corpus');
    const to = `corpus@${MAIL_DOMAIN}`;
    const replies: Record<string, number> = {};
    const refused: string[] = [];
    let accepted = 0;
    for (const file of files) {
      const result = await deliver(server.smtpPort, { from: 'sender@example.com', to, raw: readFileSync(file) });
      const code = result.ok ? Number(result.response.slice(0, 3)) : result.code;
      replies[String(code)[0] + 'xx'] = (replies[String(code)[0] + 'xx'] ?? 0) + 1;
      expect([2, 5], `${path.relative(corpus, file)}: ${result.response}`).toContain(Math.floor(code / 100));
      if (result.ok) accepted++;
      else refused.push(`${path.relative(corpus, file)}: ${result.response}`);
    }
    // Every 250 left a record: a ticket, a reply, or a kept (ignored, duplicate, quarantined) mail.
    const outcomes = await server.app.database.rows<{ status: string; n: number; tickets: number }>(
      sql`select status, count(*)::int as n, count(ticket_id)::int as tickets from inbound_mails where team_id = ${Number(Buffer.from(team.id, 'base64').toString().split(':')[1])} group by status order by status`,
    );
    const stored = outcomes.reduce((sum, o) => sum + o.n, 0);
    expect(stored).toBe(accepted);
    const processed = outcomes.find((o) => o.status === 'PROCESSED');
    expect(processed?.tickets).toBe(processed?.n);
    console.log(`mail corpus: ${files.length} messages; SMTP replies ${JSON.stringify(replies)}; outcomes ${JSON.stringify(Object.fromEntries(outcomes.map((o) => [o.status, o.n])))}`);
    for (const line of refused) console.log(`  refused ${line}`);

    // Still up and still taking ordinary mail.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await deliver(server.smtpPort, { from: 'after@example.com', to, raw: mail({ from: 'after@example.com', to, subject: 'after the corpus' }) })).ok).toBe(true);
  }, 120_000);
});

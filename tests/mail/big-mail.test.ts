import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { mailParsePool } from '../../src/mail/parse-pool.js';
import { sweepMailBlobs } from '../../src/mail/staging.js';
import { CHUNK_BYTES, ORPHAN_BLOB_SECONDS, stageBlob } from '../../src/tickets/blobs.js';
import { createTeam } from '../support/fixtures.js';
import { ADMIN_TOKEN, MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mailWithAttachment } from '../support/smtp.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ MAIL_MAX_BYTES: String(16 * 1024 * 1024) });
});
afterAll(async () => {
  await server?.stop();
});

/** A mail of about 10 MB: a line of text and one attachment of `file`. */
const bigMail = (to: string, messageId: string, file: Buffer) =>
  mailWithAttachment({ from: 'Big Sender <big@sender.example>', to, subject: 'The whole archive', messageId, body: 'The archive is attached.', filename: 'archive.bin', attachment: file });

const bufferBytes = (params: unknown[]) => Math.max(0, ...params.map((p) => (p instanceof Uint8Array ? p.byteLength : 0)));

describe('a 10 MB mail', () => {
  it('is parsed off the event loop and stored in chunks: no statement carries megabytes, /healthz answers meanwhile, the bytes come back whole', async () => {
    await createTeam(server, 'Archive Desk');
    const address = `archive-desk@${MAIL_DOMAIN}`;
    const file = Buffer.alloc(7.5 * 1024 * 1024);
    for (let i = 0; i < file.length; i++) file[i] = (i * 7919) % 251;
    const raw = bigMail(address, 'archive-1@sender.example', file);

    // Every statement's largest byte parameter, and whether a transaction was open.
    const statements: Array<{ bytes: number; inTransaction: boolean }> = [];
    let open = 0;
    const stop = server.app.database.watchStatements((text, params) => {
      if (text === 'begin') open++;
      else if (text === 'commit') open--;
      else statements.push({ bytes: bufferBytes(params), inTransaction: open > 0 });
    });
    const parsedBefore = mailParsePool.parsed;
    // /healthz asked again and again while the mail is delivered: answers once storing has begun count.
    let delivering = true;
    let storing = false;
    let answeredWhileStoring = 0;
    const health = (async () => {
      while (delivering) {
        const res = await fetch(`${server.url}/healthz`);
        expect(res.status).toBe(200);
        await res.text();
        if (storing && delivering) answeredWhileStoring++;
      }
    })();
    const watchStoring = server.app.database.watchStatements((text) => {
      if (/insert into "blob_chunks"/.test(text)) storing = true;
    });
    const delivery = await deliver(server.smtpPort, { from: 'big@sender.example', to: address, raw });
    delivering = false;
    await health;
    stop();
    watchStoring();
    expect(delivery).toEqual({ ok: true, response: expect.stringMatching(/^250 /) });

    expect(mailParsePool.parsed).toBe(parsedBefore + 1);
    expect(Math.max(...statements.map((s) => s.bytes))).toBeLessThanOrEqual(CHUNK_BYTES);
    expect(statements.filter((s) => s.inTransaction && s.bytes > 0)).toEqual([]);
    expect(answeredWhileStoring).toBeGreaterThanOrEqual(2);

    const db = server.app.database.db;
    const [record] = await queryRows<{ ticket_id: number; raw_mail_id: number }>(db, sql`select ticket_id, raw_mail_id from inbound_mails where message_id = 'archive-1@sender.example'`);
    const [stored] = await queryRows<{ data: Buffer | null; bytes: Buffer }>(
      db,
      sql`select r.data, (select string_agg(c.data, ''::bytea order by c.seq) from blob_chunks c where c.blob_id = r.blob_id) as bytes from raw_mails r where r.id = ${record!.raw_mail_id}`,
    );
    expect(stored!.data).toBeNull();
    expect(Buffer.from(stored!.bytes).equals(Buffer.from(raw))).toBe(true);

    const [attachment] = await queryRows<{ id: number }>(db, sql`select a.id from ticket_attachments a join ticket_messages m on m.id = a.message_id where m.ticket_id = ${record!.ticket_id}`);
    const download = await fetch(`${server.url}/attachments/${attachment!.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(file)).toBe(true);
  });

  it('leaves blobs of mail that never committed to the sweep, and keeps those a row refers to', async () => {
    const db = server.app.database.db;
    const orphan = await stageBlob(db, Buffer.alloc(600 * 1024, 1));
    const young = await stageBlob(db, Buffer.alloc(600 * 1024, 2));
    const [kept] = await queryRows<{ blob_id: number }>(db, sql`select blob_id from raw_mails where blob_id is not null limit 1`);
    await queryRows(db, sql`update blobs set created_at = now() - make_interval(secs => ${ORPHAN_BLOB_SECONDS + 60}) where id in (${orphan}, ${kept!.blob_id})`);
    await sweepMailBlobs(db);
    const left = await queryRows<{ id: number }>(db, sql`select id from blobs where id in (${orphan}, ${young}, ${kept!.blob_id}) order by id`);
    expect(left.map((r) => r.id).sort((a, b) => a - b)).toEqual([young, kept!.blob_id].sort((a, b) => a - b));
    const chunks = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from blob_chunks where blob_id = ${orphan}`);
    expect(chunks[0]!.n).toBe(0);
  });
});

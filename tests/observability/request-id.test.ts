import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { requestIdOf } from '../../src/http/server.js';
import { createTeam } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';
import { waitFor } from '../support/wait.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: TestServer;
/** The server's log lines (JSON), captured from stdout where the app's logger writes them. */
const lines: any[] = [];
const write = process.stdout.write;

beforeAll(async () => {
  // debug: Yoga's own lines inside a request are written too, with no request id passed to them.
  server = await startTestServer({ LOG_LEVEL: 'debug' });
  process.stdout.write = ((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n')) if (line.startsWith('{')) lines.push(JSON.parse(line));
    return true;
  }) as typeof process.stdout.write;
}, 60_000);

afterAll(async () => {
  process.stdout.write = write;
  await server?.stop();
});

const postGraphql = (query: string, headers: Record<string, string> = {}) =>
  fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers }, body: JSON.stringify({ query }) });

describe('one request id from the socket to the database', () => {
  it('is answered as x-request-id and carried by every log line of the request, its own and those of the code it runs', async () => {
    const answer = await postGraphql('query Identified { teams { id } }');
    expect(answer.status).toBe(200);
    const requestId = answer.headers.get('x-request-id')!;
    expect(requestId).toMatch(UUID);
    await waitFor(() => lines.some((l) => l.msg === 'request' && l.requestId === requestId), { what: 'the request line' });
    // Lines written inside the request by Yoga, which knows nothing of request ids.
    const inside = lines.filter((l) => l.requestId === requestId && l.msg !== 'request');
    expect(inside.length).toBeGreaterThan(0);
    // Nothing written meanwhile carries another id or none (the server has no other traffic).
    const other = await postGraphql('query Other { teams { id } }');
    const otherId = other.headers.get('x-request-id')!;
    expect(otherId).toMatch(UUID);
    expect(otherId).not.toBe(requestId);
    await waitFor(() => lines.some((l) => l.msg === 'request' && l.requestId === otherId), { what: 'the second request line' });
    expect(lines.filter((l) => l.requestId === otherId && l.msg !== 'request').length).toBe(inside.length);
  });

  it("keeps a proxy's sane X-Request-Id and replaces any other", async () => {
    const fromProxy = 'Root=1-67891233-abcdef012345678912345678';
    expect((await postGraphql('{ teams { id } }', { 'x-request-id': fromProxy })).headers.get('x-request-id')).toBe(fromProxy);
    for (const insane of ['short', 'a b c d e f g h', 'x'.repeat(129), '"quoted-request-id"', 'id\u0001with-control']) {
      expect(requestIdOf(insane)).toMatch(UUID);
    }
    const replaced = await postGraphql('{ teams { id } }', { 'x-request-id': 'two words here' });
    expect(replaced.headers.get('x-request-id')).toMatch(UUID);
    expect(requestIdOf(undefined)).toMatch(UUID);
    expect(requestIdOf(['a-first-request-id', 'a-second-request-id'])).toMatch(UUID);
  });

  it('is new for each graphql-ws operation, in its log line', async () => {
    const socket = server.wsClient();
    const run = (query: string) =>
      new Promise<void>((resolve, reject) => {
        socket.subscribe({ query }, { next: () => {}, error: reject, complete: resolve });
      });
    await run('query SocketOne { teams { id } }');
    await run('query SocketTwo { teams { id } }');
    await waitFor(() => lines.filter((l) => l.msg === 'websocket operation').length >= 2, { what: 'two websocket operation lines' });
    const [one, two] = ['SocketOne', 'SocketTwo'].map((name) => lines.find((l) => l.msg === 'websocket operation' && l.operationName === name));
    expect(one?.requestId).toMatch(UUID);
    expect(two?.requestId).toMatch(UUID);
    expect(one.requestId).not.toBe(two.requestId);
  });

  it('of an SMTP transaction is in its log line and on the inbound mail row it wrote', async () => {
    const team = await createTeam(server, 'Identified Mail', { useEmailAlias: true });
    const { teams } = await server.client().request<any>('{ teams { id emailAlias { address } } }');
    const address = teams.find((t: { id: string }) => t.id === team.id).emailAlias.address;
    const sent = await deliver(server.smtpPort, { from: 'bo@example.com', to: address, raw: mail({ from: 'Bo <bo@example.com>', to: address, subject: 'Which request?', messageId: 'identified-1@sender.example' }) });
    expect(sent.ok).toBe(true);
    const [row] = await queryRows<{ request_id: string | null }>(server.app.database.db, sql`select request_id from inbound_mails where message_id = 'identified-1@sender.example'`);
    expect(row?.request_id).toMatch(UUID);
    await waitFor(() => lines.some((l) => l.msg === 'mail received' && l.requestId === row!.request_id), { what: "the 'mail received' line with the row's request id" });
    // An operator reading mail over the API sees it too.
    const { inboundMails } = await server.client().request<any>('{ inboundMails(first: 100) { nodes { subject requestId } } }');
    expect(inboundMails.nodes.find((m: { subject: string }) => m.subject === 'Which request?').requestId).toBe(row!.request_id);
  });
});

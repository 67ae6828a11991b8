import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTicket } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

/** A raw HTTP client that sends `head` and then, optionally, one body byte every `everyMs` (a slow client). */
function slowClient(url: string, head: string, trickle: { everyMs: number } | null = null) {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  const started = Date.now();
  socket.write(head);
  const timer = trickle ? setInterval(() => socket.writable && socket.write('x'), trickle.everyMs) : null;
  const closed = new Promise<{ ms: number; received: string }>((resolve) =>
    socket.once('close', () => {
      if (timer) clearInterval(timer);
      resolve({ ms: Date.now() - started, received });
    }),
  );
  return { socket, closed };
}

describe('HTTP request timeouts', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1500' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('drops a client whose headers do not arrive within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const client = slowClient(server.url, 'GET /healthz HTTP/1.1\r\nHost: intake.test\r\n');
    let outcome: { ms: number; received: string } | null = null;
    void client.closed.then((result) => (outcome = result));
    await waitFor(() => outcome !== null, { timeout: 15_000, what: 'the slow-header socket closed by the server' });
    expect(outcome!.received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('drops a client whose body trickles in past HTTP_REQUEST_TIMEOUT_MS, and keeps an SSE stream open longer', async () => {
    const team = await createTeam(server, 'Slow Clients');
    const stream = sseSubscribe(server.graphqlUrl, ADMIN_TOKEN, 'subscription { ticketCreated { node { title } } }');
    await waitFor(() => server.app.events.activeSubscriptions() === 1, { what: 'the SSE stream' });
    const client = slowClient(server.url, 'POST /graphql HTTP/1.1\r\nHost: intake.test\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{', { everyMs: 100 });
    let outcome: { ms: number; received: string } | null = null;
    void client.closed.then((result) => (outcome = result));
    await waitFor(() => outcome !== null, { timeout: 15_000, what: 'the slow-body socket closed by the server' });
    expect(outcome!.received).toMatch(/^HTTP\/1\.1 408/);

    // The stream was opened before the slow body and outlived its timeout: a response may last.
    await createTicket(server, { teamId: team.id, title: 'after the timeout' });
    expect(await stream.waitFor(1)).toEqual([{ data: { ticketCreated: { node: { title: 'after the timeout' } } } }]);
    await stream.close();
  });
});

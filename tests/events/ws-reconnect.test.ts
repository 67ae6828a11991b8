import type { Duplex } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTeam, createTicket } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, untilSubscribed, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/**
 * The README's "Resuming after a disconnect" pattern for graphql-ws: the client keeps the last
 * cursor in the subscription's variables object, which graphql-ws sends again as it is when it
 * reconnects and resubscribes. A socket the server cuts while tickets are created loses nothing.
 * Over SSE, the README's loop reopens the stream with the last cursor.
 */

let server: TestServer;
let client: Client | undefined;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await client?.dispose();
  await server?.stop();
});

describe('a graphql-ws client that keeps the last cursor in its variables', () => {
  it('gets every ticket exactly once across a socket the server terminated', async () => {
    const team = await createTeam(server, 'Reconnecting');
    // The server side of every WebSocket: the test cuts them as a failing proxy or a restart would.
    const serverSockets: Duplex[] = [];
    server.app.http.server.on('upgrade', (_req, socket: Duplex) => serverSockets.push(socket));
    const { promise: outage, resolve: endOutage } = Promise.withResolvers<void>();
    const closes: number[] = [];
    let connections = 0;

    client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
      retryAttempts: Infinity,
      // The reconnect waits until the test has created the outage's tickets.
      retryWait: () => outage,
      on: { connected: () => void connections++, closed: (event: any) => void closes.push(event.code) },
    });

    // The pattern of the README: graphql-ws re-sends this very object when it resubscribes.
    const request = {
      query: 'subscription ($teamId: ID, $after: String) { ticketCreated(teamId: $teamId, after: $after) { cursor node { number } } }',
      variables: { teamId: team.id, after: null as string | null },
    };
    const received: number[] = [];
    const errors: unknown[] = [];
    client.subscribe<any>(request, {
      next: ({ data }) => {
        request.variables.after = data.ticketCreated.cursor;
        received.push(data.ticketCreated.node.number);
      },
      error: (error) => void errors.push(error),
      complete: () => {},
    });

    const create = async (title: string) => (await createTicket(server, { teamId: team.id, title })).number;
    await untilSubscribed(server, 1);
    const before = [await create('before 1'), await create('before 2')];
    await waitFor(() => received.length === 2, { what: 'the tickets before the outage' });

    for (const socket of serverSockets) socket.destroy();
    await waitFor(() => closes.length === 1, { what: 'the client seeing its socket closed' });
    await waitFor(() => server.app.events.activeSubscriptions() === 0, { what: 'the server dropping the subscription' });
    const during = [await create('during 1'), await create('during 2'), await create('during 3')];

    endOutage();
    await waitFor(() => connections === 2, { what: 'the client reconnected' });
    await untilSubscribed(server, 1);
    const after = [await create('after 1'), await create('after 2')];
    await waitFor(() => received.length >= 7, { what: 'every ticket' });

    expect(errors).toEqual([]);
    expect(received).toEqual([...before, ...during, ...after]);
    await client.dispose();
    client = undefined;
    await untilSubscribed(server, 0);
  });
});

describe('an SSE client that reopens the stream with the last cursor as `after`', () => {
  it('gets every ticket exactly once across a connection the server cut', async () => {
    const team = await createTeam(server, 'Reconnecting SSE');
    const streams: Duplex[] = [];
    const track = (req: { headers: Record<string, unknown>; socket: Duplex }) => {
      if (req.headers.accept === 'text/event-stream') streams.push(req.socket);
    };
    server.app.http.server.on('request', track);
    const { promise: outage, resolve: endOutage } = Promise.withResolvers<void>();
    const received: number[] = [];
    let opened = 0;
    let stopped = false;

    // The README's loop, with the pause before reopening ended by the test instead of a timer.
    const query = 'subscription ($teamId: ID, $after: String) { ticketCreated(teamId: $teamId, after: $after) { cursor node { number } } }';
    let after: string | null = null;
    const loop = (async () => {
      while (!stopped) {
        try {
          const response: Response = await fetch(server.graphqlUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_TOKEN}` },
            body: JSON.stringify({ query, variables: { teamId: team.id, after } }),
          });
          opened++;
          let buffer = '';
          for await (const chunk of response.body!.pipeThrough(new TextDecoderStream()) as AsyncIterable<string>) {
            const blocks: string[] = (buffer += chunk).split('\n\n');
            buffer = blocks.pop()!;
            for (const block of blocks) {
              const data = block.split('\n').find((line) => line.startsWith('data: '));
              const event: { cursor: string; node: { number: number } } | undefined = data ? JSON.parse(data.slice(6)).data?.ticketCreated : undefined;
              if (!event) continue;
              after = event.cursor;
              received.push(event.node.number);
            }
          }
        } catch {
          // The connection was cut: reopen below.
        }
        await outage;
      }
    })();

    const create = async (title: string) => (await createTicket(server, { teamId: team.id, title })).number;
    try {
      await untilSubscribed(server, 1);
      const before = [await create('before 1'), await create('before 2')];
      await waitFor(() => received.length === 2, { what: 'the tickets before the outage' });
      for (const socket of streams) socket.destroy();
      await waitFor(() => server.app.events.activeSubscriptions() === 0, { what: 'the server dropping the stream' });
      const during = [await create('during 1'), await create('during 2')];
      endOutage();
      await waitFor(() => opened === 2, { what: 'the stream reopened' });
      await untilSubscribed(server, 1);
      const later = [await create('after 1')];
      await waitFor(() => received.length >= 5, { what: 'every ticket' });
      expect(received).toEqual([...before, ...during, ...later]);
    } finally {
      stopped = true;
      endOutage();
      server.app.http.server.off('request', track);
      for (const socket of streams) socket.destroy();
      await loop;
    }
  });
});

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPRESS_MIN_BYTES } from '../../src/http/compression.js';
import { createTeam, createTicket } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { probeUntil, waitFor } from '../support/wait.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The bytes as they came over the wire. */
  body: Buffer;
}

/** One request through node:http, which (unlike fetch) hands over the body undecoded. */
function request(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function decode(answer: RawAnswer): string {
  const encoding = answer.headers['content-encoding'];
  if (encoding === 'br') return zlib.brotliDecompressSync(answer.body).toString('utf8');
  if (encoding === 'gzip') return zlib.gunzipSync(answer.body).toString('utf8');
  expect(encoding).toBeUndefined();
  return answer.body.toString('utf8');
}

const graphqlPost = (query: string, acceptEncoding: string) =>
  request('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, 'accept-encoding': acceptEncoding },
    body: JSON.stringify({ query }),
  });

describe('compressed answers', () => {
  it('sends GraphiQL brotli-compressed to a client that takes br, decoding to the very page, and gzip to one that takes only gzip', async () => {
    const plain = await request('/graphql', { headers: { accept: 'text/html' } });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toMatch(/accept-encoding/i);
    const page = plain.body.toString('utf8');
    expect(page).toContain('<title>Intake GraphQL</title>');

    const br = await request('/graphql', { headers: { accept: 'text/html', 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-length']).toBeUndefined();
    expect(decode(br)).toBe(page);
    // Told in the closing note of the change: what a browser downloads.
    console.info(`GraphiQL page: ${plain.body.length} bytes, ${br.body.length} with br`);
    expect(br.body.length).toBeLessThan(page.length / 3);
    // Served again from the compressed copy kept for the same page: the same bytes.
    expect((await request('/graphql', { headers: { accept: 'text/html', 'accept-encoding': 'br' } })).body.equals(br.body)).toBe(true);

    const gzip = await request('/graphql', { headers: { accept: 'text/html', 'accept-encoding': 'br;q=0, gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(decode(gzip)).toBe(page);
  });

  it('leaves a small JSON answer as it is, and compresses a large one', async () => {
    const small = await graphqlPost('{ viewer { role } }', 'br, gzip');
    expect(small.status).toBe(200);
    expect(small.body.length).toBeLessThan(COMPRESS_MIN_BYTES);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(decode(small))).toEqual({ data: { viewer: { role: 'ADMIN' } } });

    const query = '{ __schema { types { name description fields { name description } } } }';
    const large = await graphqlPost(query, 'br, gzip');
    expect(large.status).toBe(200);
    expect(large.headers['content-encoding']).toBe('br');
    expect(large.headers.vary).toMatch(/accept-encoding/i);
    const identity = await graphqlPost(query, 'identity');
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.body.length).toBeGreaterThan(COMPRESS_MIN_BYTES);
    expect(JSON.parse(decode(large))).toEqual(JSON.parse(identity.body.toString('utf8')));
    expect(large.body.length).toBeLessThan(identity.body.length / 3);
  });

  it('compresses the HTML pages', async () => {
    const team = await createTeam(server, 'Compressed', { useWebsiteForm: true });
    const published = await server.client().request<any>('mutation ($t: ID!) { publishWebsiteForm(input: { teamId: $t }) { userErrors { code } } }', { t: team.id });
    expect(published.publishWebsiteForm.userErrors).toEqual([]);
    const { team: found } = await server.client().request<any>('query ($t: ID!) { team(id: $t) { websiteForm { url } } }', { t: team.id });
    const path = new URL(found.websiteForm.url).pathname;
    const plain = await request(path);
    expect(plain.status).toBe(200);
    expect(plain.body.length).toBeGreaterThan(COMPRESS_MIN_BYTES);
    const gzip = await request(path, { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.headers['content-type']).toContain('text/html');
    // The form carries a per-request token; the rest of the page is the same.
    const withoutTokens = (html: string) => html.replace(/value="[^"]{20,}"/g, 'value=""');
    expect(withoutTokens(decode(gzip))).toBe(withoutTokens(plain.body.toString('utf8')));
  });

  it('streams SSE compressed, every event flushed as it happens', async () => {
    const team = await createTeam(server, 'Streamed');
    const events: string[] = [];
    const opened = new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_TOKEN}`, 'accept-encoding': 'br' },
      });
      req.on('response', resolve).on('error', reject);
      req.end(JSON.stringify({ query: 'subscription { ticketCreated { node { title } } }' }));
    });
    const res = await opened;
    expect(res.headers['content-encoding']).toBe('br');
    const decoder = zlib.createBrotliDecompress();
    res.pipe(decoder);
    decoder.on('data', (chunk: Buffer) => events.push(...chunk.toString('utf8').split('\n').filter((line) => line.startsWith('data:'))));
    try {
      const arrived = (title: string) => events.some((line) => line.includes(`"${title}"`));
      // The first event proves the subscription is registered; the second must follow on its own.
      await probeUntil(() => arrived('first'), () => createTicket(server, { teamId: team.id, title: 'first' }));
      await createTicket(server, { teamId: team.id, title: 'second' });
      await waitFor(() => arrived('second'), { what: "the second ticket's event, flushed through the compressor" });
      expect(res.complete).toBe(false);
    } finally {
      res.destroy();
    }
  });
});

describe('compressed WebSocket frames', () => {
  it('deflates large graphql-ws messages and leaves small ones as they are', async () => {
    const socket = await rawWebSocket();
    try {
      expect(socket.extensions).toMatch(/^permessage-deflate/);
      socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const ack = await socket.next();
      expect(ack).toMatchObject({ compressed: false, message: { type: 'connection_ack' } });
      socket.send({ id: '1', type: 'subscribe', payload: { query: '{ __schema { types { name description fields { name description } } } }' } });
      const result = await socket.next();
      expect(result.message).toMatchObject({ id: '1', type: 'next' });
      expect(result.bytes).toBeGreaterThan(1024);
      expect(result.compressed).toBe(true);
      expect(await socket.next()).toMatchObject({ compressed: false, message: { id: '1', type: 'complete' } });
    } finally {
      socket.close();
    }
  });
});

/**
 * A graphql-ws socket spoken frame by frame over TCP, offering permessage-deflate as browsers do:
 * it tells which frames the server compressed (RSV1), which a WebSocket library hides.
 */
async function rawWebSocket() {
  const { url } = server;
  const tcp = net.connect(Number(new URL(url).port), '127.0.0.1');
  let buffer = Buffer.alloc(0);
  let wake = () => {};
  tcp.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake();
  });
  const until = async <T>(take: () => T | undefined): Promise<T> => {
    for (;;) {
      const taken = take();
      if (taken !== undefined) return taken;
      await new Promise<void>((resolve, reject) => {
        wake = resolve;
        tcp.once('close', () => reject(new Error('socket closed')));
      });
    }
  };
  await new Promise<void>((resolve) => tcp.once('connect', resolve));
  tcp.write(
    [
      'GET /graphql HTTP/1.1',
      `Host: ${new URL(url).host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Protocol: graphql-transport-ws',
      'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
      '',
      '',
    ].join('\r\n'),
  );
  const head = await until(() => {
    const end = buffer.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const text = buffer.subarray(0, end).toString('latin1');
    buffer = buffer.subarray(end + 4);
    return text;
  });
  expect(head).toMatch(/^HTTP\/1\.1 101/);
  const extensions = /^sec-websocket-extensions: (.*)$/im.exec(head)?.[1] ?? '';
  return {
    extensions,
    send(message: unknown) {
      const payload = Buffer.from(JSON.stringify(message));
      const mask = randomBytes(4);
      const length = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
      tcp.write(Buffer.concat([Buffer.from([0x81]), length, mask, payload.map((byte, i) => byte ^ mask[i % 4]!)]));
    },
    /** The next text frame: whether it came compressed, its size on the wire, and the message. */
    next: () =>
      until(() => {
        if (buffer.length < 2) return undefined;
        const compressed = (buffer[0]! & 0x40) !== 0;
        let length = buffer[1]! & 0x7f;
        let offset = 2;
        if (length === 126) [length, offset] = [buffer.readUInt16BE(2), 4];
        else if (length === 127) [length, offset] = [Number(buffer.readBigUInt64BE(2)), 10];
        if (buffer.length < offset + length) return undefined;
        const payload = buffer.subarray(offset, offset + length);
        buffer = buffer.subarray(offset + length);
        // A compressed message lacks the deflate block's last four bytes (RFC 7692).
        const text = compressed ? zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : payload;
        return { compressed, bytes: length, message: JSON.parse(text.toString('utf8')) as Record<string, unknown> };
      }),
    close: () => tcp.destroy(),
  };
}

import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from 'graphql-request';
import { startTestServer, type TestServer } from '../support/server.js';
import { publishedRichForm } from './support.js';

interface Answer {
  status: number;
  body: string;
  /** Whether the client had written its whole body when the answer came. */
  sentAll: boolean;
}

/**
 * Posts `chunks` one after another and stops writing as soon as the server answers: the rest is
 * held back. `finish()` ends or drops the request once the test has what it needs.
 */
function postInChunks(url: string, headers: http.OutgoingHttpHeaders, chunks: Iterable<Buffer>) {
  const req = http.request(url, { method: 'POST', headers, agent: false });
  let answered = false;
  let sentAll = false;
  const answer = new Promise<Answer>((resolve, reject) => {
    req.once('response', (res) => {
      answered = true;
      const wasSentAll = sentAll;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body, sentAll: wasSentAll }));
    });
    req.once('error', reject);
  });
  const writing = (async () => {
    for (const chunk of chunks) {
      if (answered) return;
      if (!req.write(chunk)) await new Promise<void>((resolve) => req.once('drain', resolve).once('close', resolve));
    }
    if (!answered) {
      sentAll = true;
      req.end();
    }
  })();
  return { answer, finish: () => (req.destroy(), writing) };
}

function* repeat(chunk: Buffer, times: number) {
  for (let i = 0; i < times; i++) yield chunk;
}

const healthz = async (server: TestServer) => (await fetch(`${server.url}/healthz`)).status;

const good = { name: 'Noah', email: 'noah@example.com', subject: 'Login fails', kind: 'question', description: 'Cannot log in.' };
const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };

describe('large anonymous form posts', () => {
  let server: TestServer;
  let pageUrl: string;
  beforeAll(async () => {
    server = await startTestServer({ FORM_RATE_LIMIT_PER_HOUR: '1000', FORM_RATE_LIMIT_PER_DAY: '1000' });
    pageUrl = (await publishedRichForm(server, 'Limits Desk')).url.replace(/^https?:\/\/[^/]+/, server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a 12 MB urlencoded body by its length, before reading it, while /healthz answers', async () => {
    const total = 12 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    chunk.write('description=');
    const post = postInChunks(pageUrl, { ...urlencoded, 'content-length': total }, repeat(chunk, total / chunk.length));
    const answer = await post.answer;
    expect(await healthz(server)).toBe(200);
    await post.finish();
    expect(answer).toMatchObject({ status: 413, sentAll: false });
    expect(answer.body).toContain('The submission is too large or has too many fields.');
    expect(answer.body).toContain('<form method="post"');
  });

  it('refuses a streamed urlencoded body once it passes the limit, without waiting for its end', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'b');
    chunk.write('description=');
    const post = postInChunks(pageUrl, { ...urlencoded, 'transfer-encoding': 'chunked' }, repeat(chunk, 12 * 16));
    const answer = await post.answer;
    expect(await healthz(server)).toBe(200);
    await post.finish();
    expect(answer).toMatchObject({ status: 413, sentAll: false });
  });

  it('refuses a 100 000-part multipart body at the part past the limit, while /healthz answers before it is sent', async () => {
    const boundary = 'intake-limits-boundary';
    const part = (i: number) => Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="f${i}"\r\n\r\nx\r\n`);
    const parts = 100_000;
    const total = Array.from({ length: parts }, (_, i) => part(i).length).reduce((a, b) => a + b, 0) + `--${boundary}--\r\n`.length;
    function* body() {
      // Written in batches of 500 parts, so the server can answer between them.
      for (let i = 0; i < parts; i += 500) yield Buffer.concat(Array.from({ length: 500 }, (_, j) => part(i + j)));
      yield Buffer.from(`--${boundary}--\r\n`);
    }
    const post = postInChunks(pageUrl, { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': total }, body());
    const answer = await post.answer;
    expect(await healthz(server)).toBe(200);
    await post.finish();
    expect(answer).toMatchObject({ status: 413, sentAll: false });
    expect(answer.body).toContain('The submission is too large or has too many fields.');
  });

  it('refuses one text field past its size in a multipart body, and answers a multipart body without a boundary with 415', async () => {
    const boundary = 'b0';
    const big = `--${boundary}\r\ncontent-disposition: form-data; name="description"\r\n\r\n${'x'.repeat(200 * 1024)}\r\n--${boundary}--\r\n`;
    const tooLong = await fetch(pageUrl, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: big });
    expect(tooLong.status).toBe(413);
    const unreadable = await fetch(pageUrl, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'no boundary' });
    expect(unreadable.status).toBe(415);
    expect(await unreadable.text()).toContain('The submission could not be read.');
  });

  it('still takes an ordinary multipart submission', async () => {
    const data = new FormData();
    for (const [key, value] of Object.entries(good)) data.set(key, value);
    const res = await fetch(pageUrl, { method: 'POST', body: data });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/data-ticket-number>#\d+</);
  });

  it('records the peer, not X-Forwarded-For, when no proxy is trusted', async () => {
    const res = await fetch(pageUrl, { method: 'POST', headers: { ...urlencoded, 'x-forwarded-for': '203.0.113.66' }, body: new URLSearchParams({ ...good, subject: 'Untrusted header' }) });
    expect(res.status).toBe(200);
    expect(await originOf(server, 'Untrusted header')).toBe('127.0.0.1');
  });
});

async function originOf(server: TestServer, title: string): Promise<string> {
  const { tickets } = await server.client().request<any>(gql`query { tickets(first: 50) { nodes { title messages { nodes { origin { clientAddress } } } } } }`);
  return tickets.nodes.find((t: any) => t.title === title).messages.nodes[0].origin.clientAddress;
}

describe('the form rate limit', () => {
  let server: TestServer;
  let pageUrl: string;
  beforeAll(async () => {
    server = await startTestServer({ FORM_RATE_LIMIT_PER_HOUR: '2', TRUSTED_PROXIES: '127.0.0.1' });
    pageUrl = (await publishedRichForm(server, 'Busy Desk')).url.replace(/^https?:\/\/[^/]+/, server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const from = (client: string, body: BodyInit, headers: Record<string, string> = urlencoded) => fetch(pageUrl, { method: 'POST', headers: { ...headers, 'x-forwarded-for': `198.51.100.200, ${client}` }, body });

  it('counts every post before its body is read, and refuses a client past it without reading the body', async () => {
    expect((await from('203.0.113.10', 'description=' + 'x'.repeat(2 * 1024 * 1024))).status).toBe(413);
    expect((await from('203.0.113.10', new URLSearchParams({ ...good, subject: 'Second post' }))).status).toBe(200);
    // Larger than the socket buffers hold: the client can only finish if the server reads the body.
    const headers = { 'content-type': 'multipart/form-data; boundary=b1', 'content-length': 11 * 1024 * 1024, 'x-forwarded-for': '203.0.113.10' };
    const post = postInChunks(pageUrl, headers, repeat(Buffer.alloc(64 * 1024, 'c'), 11 * 16));
    const answer = await post.answer;
    await post.finish();
    expect(answer).toMatchObject({ status: 429, sentAll: false });
    expect(answer.body).toContain('Too many submissions from your address');
  });

  it('keys the limit on the client a trusted proxy forwarded, and records that address', async () => {
    const res = await from('203.0.113.11', new URLSearchParams({ ...good, subject: 'Another visitor' }));
    expect(res.status).toBe(200);
    expect(await originOf(server, 'Another visitor')).toBe('203.0.113.11');
  });
});

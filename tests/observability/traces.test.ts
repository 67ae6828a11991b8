import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { runWithRequestId } from '../../src/log.js';
import { queueMail, ticketToAnswer, untilStatus } from '../outbound/support.js';
import { startRelay, type TestRelay } from '../outbound/relay.js';
import { createTeam } from '../support/fixtures.js';
import { startOtlpCollector, type OtlpCollector, type ReceivedSpan } from '../support/otlp-collector.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';

/** OTLP span kinds. */
const SERVER = 2;
const CLIENT = 3;

let collector: OtlpCollector;
let server: TestServer;
let relay: TestRelay;

beforeAll(async () => {
  collector = await startOtlpCollector();
  relay = await startRelay();
  // Spans are sent every 50 ms instead of every 5 s: the test waits for them to arrive.
  server = await startTestServer({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'intake-test', OTEL_BSP_SCHEDULE_DELAY: '50', SMTP_RELAY_URL: relay.url });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await relay?.close();
  await collector?.close();
});

const postGraphql = (query: string, headers: Record<string, string> = {}) =>
  fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers }, body: JSON.stringify({ query }) });

const names = (spans: ReceivedSpan[]) => spans.map((s) => s.name);

describe('traces over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  it('nest a GraphQL request HTTP → operation → execute → SQL, compiled by graphql-jit, with the request id', async () => {
    await createTeam(server, 'Traced Team');
    const answer = await postGraphql('query TracedTeams { teams { id name } }');
    expect(answer.status).toBe(200);
    expect((await answer.json()).data.teams.map((t: { name: string }) => t.name)).toContain('Traced Team');
    const requestId = answer.headers.get('x-request-id')!;

    const request = await collector.span((s) => s.attributes['intake.request_id'] === requestId && s.kind === SERVER, 'the HTTP span of the request');
    expect(request).toMatchObject({ name: 'POST /graphql', serviceName: 'intake-test', parentSpanId: null });
    expect(request.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 });

    const operation = await collector.span((s) => s.name === 'query TracedTeams' && s.traceId === request.traceId, 'the operation span');
    expect(collector.parentOf(operation)).toBe(request);
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'TracedTeams' });

    const select = await collector.span((s) => s.kind === CLIENT && s.traceId === request.traceId && /"teams"/.test(String(s.attributes['db.query.text'])), 'the SELECT from teams');
    expect(select.name).toBe('SELECT');
    expect(select.attributes['db.system.name']).toBe('postgresql');
    const chain = collector.ancestorsOf(select);
    expect(names(chain)).toEqual(['graphql.execute', 'query TracedTeams', 'POST /graphql']);
    expect(chain.at(-1)).toBe(request);
    // The phases before execution are spans of the operation too.
    await collector.span((s) => s.name === 'graphql.parse' && s.parentSpanId === operation.spanId, 'the parse span');
    await collector.span((s) => s.name === 'graphql.validate' && s.parentSpanId === operation.spanId, 'the validate span');
  });

  it("continue the caller's trace from its traceparent header", async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentId = 'b7ad6b7169203331';
    const answer = await postGraphql('query Callers { teams { id } }', { traceparent: `00-${traceId}-${parentId}-01` });
    const requestId = answer.headers.get('x-request-id')!;
    const request = await collector.span((s) => s.attributes['intake.request_id'] === requestId && s.kind === SERVER, 'the HTTP span');
    expect(request).toMatchObject({ traceId, parentSpanId: parentId });
  });

  it('trace a graphql-ws operation: its span with its own request id, its SQL nested in it', async () => {
    const socket = server.wsClient();
    const result = await new Promise<any>((resolve, reject) => {
      let value: any;
      socket.subscribe({ query: 'query SocketTeams { teams { id } }' }, { next: (v) => (value = v), error: reject, complete: () => resolve(value) });
    });
    expect(result.data.teams.length).toBeGreaterThan(0);
    const operation = await collector.span((s) => s.name === 'query SocketTeams', 'the graphql-ws operation span');
    expect(operation).toMatchObject({ kind: SERVER, parentSpanId: null });
    expect(operation.attributes).toMatchObject({ 'graphql.transport': 'graphql-ws', 'graphql.operation.type': 'query' });
    expect(operation.attributes['intake.request_id']).toMatch(/^[0-9a-f-]{36}$/);
    const select = await collector.span((s) => s.kind === CLIENT && s.traceId === operation.traceId && /"teams"/.test(String(s.attributes['db.query.text'])), 'its SELECT');
    expect(collector.ancestorsOf(select)).toContain(operation);
  });

  it('trace an SMTP transaction with the statements that store the mail, and write its request id on the inbound mail row', async () => {
    const team = await createTeam(server, 'Traced Mail', { useEmailAlias: true });
    const { teams } = await server.client().request<any>('{ teams { id emailAlias { address } } }');
    const address = teams.find((t: { id: string }) => t.id === team.id).emailAlias.address;
    const sent = await deliver(server.smtpPort, { from: 'ann@example.com', to: address, raw: mail({ from: 'Ann <ann@example.com>', to: address, subject: 'Traced printer', messageId: 'traced-1@sender.example' }) });
    expect(sent.ok).toBe(true);

    const [row] = await queryRows<{ request_id: string | null }>(server.app.database.db, sql`select request_id from inbound_mails where message_id = 'traced-1@sender.example'`);
    expect(row?.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const transaction = await collector.span((s) => s.name === 'smtp transaction' && s.attributes['intake.request_id'] === row!.request_id, 'the SMTP transaction span');
    expect(transaction).toMatchObject({ kind: SERVER, parentSpanId: null });
    expect(transaction.attributes).toMatchObject({ 'smtp.reply_code': 250, 'smtp.recipients': 1, 'client.address': '127.0.0.1' });
    const insert = await collector.span((s) => s.kind === CLIENT && s.traceId === transaction.traceId && /^insert into "inbound_mails"/.test(String(s.attributes['db.query.text'])), 'the INSERT into inbound_mails');
    expect(insert.name).toBe('INSERT');
    expect(collector.ancestorsOf(insert)).toContain(transaction);
    // Recipient checks answer from the team directory; the intake's routing read and the statement
    // that writes the ticket belong to the same transaction.
    for (const [pattern, what] of [
      [/from teams where alias_local_part/, 'the routing read'],
      [/with input as materialized/, 'the ticket statement'],
    ] as const) {
      const span = await collector.span((s) => s.kind === CLIENT && s.traceId === transaction.traceId && pattern.test(String(s.attributes['db.query.text'])), what);
      expect(collector.ancestorsOf(span)).toContain(transaction);
    }
  });

  it('trace an outbound send, with the id of the request that queued the mail on its row and span', async () => {
    const { db } = server.app.database;
    const { ticket } = await ticketToAnswer(db, server.app.config);
    const requestId = 'queueing-request-0001';
    const queued = await runWithRequestId(requestId, () => queueMail(db, server.app.config, ticket.id));
    expect(queued.requestId).toBe(requestId);
    await untilStatus(db, queued.id, ['SENT']);
    const send = await collector.span((s) => s.name === 'smtp send' && s.attributes['intake.outbound_mail_id'] === queued.id, 'the send span');
    expect(send).toMatchObject({ kind: CLIENT, status: 0 });
    expect(send.attributes).toMatchObject({ 'intake.request_id': requestId, 'smtp.outcome': 'sent', 'smtp.attempt': 1 });
  });

  it('send no parameter values, only statements', () => {
    const statements = collector.spans.filter((s) => s.kind === CLIENT && s.name !== 'smtp send');
    expect(statements.length).toBeGreaterThan(0);
    for (const span of statements) expect(Object.keys(span.attributes).sort()).toEqual(['db.operation.name', 'db.query.text', 'db.system.name']);
    expect(JSON.stringify(statements)).not.toContain('ann@example.com');
    expect(JSON.stringify(statements)).not.toContain('jane@customer.example');
  });
});

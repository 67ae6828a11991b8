import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOperators, createChatTeam, createOperator, goOnline, send, startChat } from '../livechat/support.js';
import { createTeam } from '../support/fixtures.js';
import { scrape, type Scrape } from '../support/metrics.js';
import { ADMIN_TOKEN, MAIL_DOMAIN, startTestServer, subscribe, type TestServer } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';
import { sseSubscribe } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ METRICS_PORT: '0' });
});
afterAll(async () => {
  await server?.stop();
});

/** How much each named sample moved between two scrapes. */
function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  return after.value(name, labels) - before.value(name, labels);
}

describe('/metrics', () => {
  it('is served on its own listener only, in the Prometheus text format', async () => {
    expect(server.app.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(server.app.metricsUrl).not.toContain(`:${new URL(server.url).port}/`);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    const response = await fetch(server.app.metricsUrl!);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const figures = await scrape(server.app.metricsUrl!);
    // prom-client's process figures: heap, RSS, event-loop lag, GC.
    for (const name of ['intake_process_resident_memory_bytes', 'intake_nodejs_heap_size_used_bytes', 'intake_nodejs_eventloop_lag_seconds']) {
      expect(figures.value(name), name).toBeGreaterThan(0);
    }
    expect(figures.text).toContain('# TYPE intake_nodejs_gc_duration_seconds histogram');
  });

  it('changes each figure by exactly what was done: a query, a subscription, a mail, a refused mail, chat messages, a form post', async () => {
    // Everything the actions need, made before the first scrape.
    await createTeam(server, 'Metrics Desk');
    const { channelId } = await createChatTeam(server, 'Metrics Chat');
    const ann = await createOperator(server, 'Metrics Ann');
    await addOperators(server, channelId, [ann]);
    const { feed } = await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Mia' });
    expect(chat.session).toMatchObject({ status: 'OPEN' });

    const before = await scrape(server.app.metricsUrl!);

    // A query (compiled by graphql-jit), and one that fails with a code.
    await server.client().request(`query MetricsProbe { __typename }`);
    await expect(server.client().request(`query MetricsBroken { node(id: "not-an-id") { id } }`)).rejects.toThrow();

    // A subscription over graphql-ws, open while scraped.
    const socket = server.wsClient();
    const active = server.app.events.activeSubscriptions();
    const watch = subscribe(socket, `subscription MetricsWatch { ticketCreated { node { id } } }`);
    await waitFor(() => server.app.events.activeSubscriptions() === active + 1, { what: 'the subscription registered' });
    const during = await scrape(server.app.metricsUrl!);
    expect(delta(before, during, 'intake_subscriptions_open', { field: 'ticketCreated' })).toBe(1);
    expect(delta(before, during, 'intake_websockets_open')).toBe(1);
    watch.dispose();
    await socket.dispose();
    // The server ends the socket's subscription on its own time: gone before the SSE one counts.
    await waitFor(() => server.app.events.activeSubscriptions() === active, { what: 'the WebSocket subscription ended' });

    // The same subscription over SSE.
    const stream = sseSubscribe(server.graphqlUrl, ADMIN_TOKEN, `subscription MetricsWatch { ticketCreated { node { id } } }`);
    await waitFor(() => server.app.events.activeSubscriptions() === active + 1, { what: 'the SSE subscription registered' });
    expect(delta(before, await scrape(server.app.metricsUrl!), 'intake_sse_streams_open')).toBe(1);
    await stream.close();

    // A mail accepted over SMTP, and one refused at RCPT TO.
    const raw = mail({ from: 'zoe@example.com', to: `metrics-desk@${MAIL_DOMAIN}`, subject: 'Counted', body: 'Count me once.' });
    expect(await deliver(server.smtpPort, { from: 'zoe@example.com', to: `metrics-desk@${MAIL_DOMAIN}`, raw })).toMatchObject({ ok: true });
    expect(await deliver(server.smtpPort, { from: 'zoe@example.com', to: `nobody-here@${MAIL_DOMAIN}`, raw })).toMatchObject({ ok: false, code: 550 });

    // Chat: the visitor writes, the operator answers twice (the first answer is timed once).
    expect((await send(server, chat.visitorToken, { sessionId: chat.session.id, body: 'Hello?' })).userErrors).toEqual([]);
    expect((await send(server, ann.token, { sessionId: chat.session.id, body: 'Hi Mia!' })).userErrors).toEqual([]);
    expect((await send(server, ann.token, { sessionId: chat.session.id, body: 'How can I help?' })).userErrors).toEqual([]);

    // A website form post refused for its input.
    const form = await server.client(null).request<any>(`mutation MetricsForm { submitWebsiteForm(input: { teamId: "nope", values: [] }) { userErrors { code } } }`);
    expect(form.submitWebsiteForm.userErrors).toEqual([{ code: 'INVALID_ID' }]);

    // Streams end asynchronously once their socket is gone: wait for the gauges to come down.
    let after = await scrape(server.app.metricsUrl!);
    await waitFor(async () => {
      after = await scrape(server.app.metricsUrl!);
      const closed = ['intake_websockets_open', 'intake_sse_streams_open'].every((name) => delta(before, after, name) === 0);
      return closed && delta(before, after, 'intake_subscriptions_open', { field: 'ticketCreated' }) === 0 && delta(before, after, 'intake_http_requests_total', { method: 'POST', route: '/graphql', status: '200' }) === 7;
    }, { what: 'the subscriptions, their socket and their stream counted closed' });

    const query = { type: 'query', name: 'MetricsProbe' };
    expect(delta(before, after, 'intake_graphql_operations_total', query)).toBe(1);
    expect(delta(before, after, 'intake_graphql_operation_duration_seconds_count', query)).toBe(1);
    expect(delta(before, after, 'intake_graphql_errors_total', { ...query, code: 'BAD_USER_INPUT' })).toBe(0);
    expect(delta(before, after, 'intake_graphql_errors_total', { type: 'query', name: 'MetricsBroken', code: 'BAD_USER_INPUT' })).toBe(1);
    expect(delta(before, after, 'intake_graphql_operations_total', { type: 'subscription', name: 'MetricsWatch' })).toBe(2);
    expect(delta(before, after, 'intake_graphql_operations_total', { type: 'mutation', name: 'anonymous' })).toBe(3);
    expect(delta(before, after, 'intake_graphql_operations_total', { type: 'mutation', name: 'MetricsForm' })).toBe(1);
    // Seven GraphQL requests over HTTP (the SSE stream counted when it ended), every one answered 200 (errors travel in the body).
    expect(delta(before, after, 'intake_http_requests_total', { method: 'POST', route: '/graphql', status: '200' })).toBe(7);
    expect(delta(before, after, 'intake_http_request_duration_seconds_count', { method: 'POST', route: '/graphql' })).toBe(7);

    expect(delta(before, after, 'intake_smtp_connections_total')).toBe(2);
    expect(after.value('intake_smtp_connections_open')).toBe(0);
    expect(delta(before, after, 'intake_mail_accepted_total')).toBe(1);
    expect(delta(before, after, 'intake_mail_accepted_bytes_total')).toBe(Buffer.byteLength(raw));
    expect(delta(before, after, 'intake_mail_refused_total', { reason: 'no_such_mailbox' })).toBe(1);
    expect(delta(before, after, 'intake_mail_quarantined_total')).toBe(0);

    expect(delta(before, after, 'intake_livechat_messages_total', { author: 'VISITOR' })).toBe(1);
    expect(delta(before, after, 'intake_livechat_messages_total', { author: 'OPERATOR' })).toBe(2);
    expect(delta(before, after, 'intake_livechat_first_answer_seconds_count')).toBe(1);
    expect(after.value('intake_livechat_sessions', { state: 'open' })).toBe(1);
    expect(after.value('intake_livechat_sessions', { state: 'waiting' })).toBe(0);
    expect(after.value('intake_livechat_operators_online')).toBe(1);

    expect(delta(before, after, 'intake_webform_posts_total')).toBe(1);
    expect(delta(before, after, 'intake_webform_refusals_total', { reason: 'INVALID_INPUT' })).toBe(1);

    // The event hub handed out the mail's ticketCreated and the chat messages.
    expect(delta(before, after, 'intake_event_delivery_lag_seconds_count', { type: 'chatMessageAdded' })).toBeGreaterThanOrEqual(3);
    feed.dispose();
  });

  it('keeps 1,000 client-chosen operation names to the first METRICS_MAX_OPERATIONS series, the rest as other', async () => {
    const before = await scrape(server.app.metricsUrl!);
    const client = server.client();
    for (let start = 0; start < 1000; start += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => client.request(`query Named${start + i} { __typename }`)));
    }
    const after = await scrape(server.app.metricsUrl!);
    const names = [...new Set(after.series('intake_graphql_operations_total').map((labels) => labels.name!))];
    // Names are kept in the order first seen, 100 of them (the earlier tests' among them), plus the two fixed labels.
    expect(names.filter((name) => name !== 'other' && name !== 'anonymous')).toHaveLength(100);
    const kept = names.filter((name) => name.startsWith('Named')).length;
    expect(kept).toBeGreaterThan(0);
    expect(delta(before, after, 'intake_graphql_operations_total', { type: 'query', name: 'other' })).toBe(1000 - kept);
    // The histogram keeps as few series: its buckets per kept name, no more.
    expect(after.series('intake_graphql_operation_duration_seconds_count').length).toBeLessThanOrEqual(after.series('intake_graphql_operations_total').length);
    expect(after.series('intake_graphql_operations_total').length).toBeLessThan(110);
  }, 120_000);
});

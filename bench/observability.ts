import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { prepareTicketList } from './tickets-http.js';
import { dropDatabase, ratio, report, startProcess, stopProcess, takeTurns } from './support.js';

const DB = 'intake_bench_observability';

/**
 * What seeing inside costs: the ticket list (bench/tickets-http.ts) on three servers over one
 * database, taking turns: metrics and tracing off, metrics on (METRICS_PORT), and metrics with
 * tracing on (OTEL_EXPORTER_OTLP_ENDPOINT at a sink this bench runs: an HTTP server that takes
 * every export and answers 200). /metrics is scraped between turns, as Prometheus would.
 */
export async function benchObservability(seconds: number) {
  const { env, measure } = await prepareTicketList(DB);
  const sink = await startOtlpSink();
  const servers: ChildProcess[] = [];
  let results;
  try {
    servers.push(await startProcess('src/main.ts', ['start'], env(4711), 'http://127.0.0.1:4711/healthz'));
    servers.push(await startProcess('src/main.ts', ['start'], env(4712, { METRICS_PORT: '4722' }), 'http://127.0.0.1:4712/healthz'));
    servers.push(await startProcess('src/main.ts', ['start'], env(4713, { METRICS_PORT: '4723', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }), 'http://127.0.0.1:4713/healthz'));
    const scraped = (port: number, run: (s: number) => ReturnType<ReturnType<typeof measure>>) => async (s: number) => {
      const result = await run(s);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (!response.ok) throw new Error(`/metrics on ${port} answered ${response.status}`);
      await response.text();
      return result;
    };
    results = await takeTurns({ off: measure(4711, '/graphql'), metrics: scraped(4722, measure(4712, '/graphql')), both: scraped(4723, measure(4713, '/graphql')) }, seconds);
  } finally {
    await Promise.all(servers.map(stopProcess));
    await sink.close();
  }
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);
  const { off, metrics, both } = results;
  const base = { bench: 'ticket_list_observability_cost', tickets: 10000, connections: 10, seconds, baseline: 'metrics and tracing off' };
  const errors = off.errors + metrics.errors + both.errors;
  report({ ...base, with: 'metrics', figure: 'requests_per_s', intake: metrics.rps, baseline_rps: off.rps, ratio: ratio(metrics.rps, off.rps), target_ratio: 0.95, errors });
  report({ ...base, with: 'metrics', figure: 'latency_p50_ms', intake: metrics.p50, baseline_ms: off.p50 });
  report({ ...base, with: 'metrics', figure: 'latency_p99_ms', intake: metrics.p99, baseline_ms: off.p99 });
  // Tracing only counts when this build honours OTEL_EXPORTER_OTLP_ENDPOINT: the sink says whether spans came.
  report({ ...base, with: 'metrics+tracing', figure: 'requests_per_s', intake: both.rps, baseline_rps: off.rps, ratio: ratio(both.rps, off.rps), otlp_exports_received: sink.requests(), errors });
  report({ ...base, with: 'metrics+tracing', figure: 'latency_p50_ms', intake: both.p50, baseline_ms: off.p50 });
  report({ ...base, with: 'metrics+tracing', figure: 'latency_p99_ms', intake: both.p99, baseline_ms: off.p99 });
}

/** An OTLP/HTTP collector stand-in: takes every export, counts them, answers 200 with an empty body. */
async function startOtlpSink() {
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' }).end(req.headers['content-type']?.includes('json') ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

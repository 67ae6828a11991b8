import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../tests/support/server.js';
import { prepareTicketList } from './tickets-http.js';
import { dropDatabase, ratio, report, startProcess, stopProcess, takeTurns } from './support.js';

// Per run: benches of other branches on the same PostgreSQL drop and recreate theirs by name.
const DB = `intake_bench_observability_${process.pid}`;

/**
 * What seeing inside costs: the ticket list (bench/tickets-http.ts) on three servers over one
 * database, taking turns: metrics and tracing off, metrics on (METRICS_PORT), and metrics with
 * tracing on (OTEL_EXPORTER_OTLP_ENDPOINT at a sink this bench runs: an HTTP server that takes
 * every export and answers 200). /metrics is scraped between turns, as Prometheus would.
 */
export async function benchObservability(seconds: number) {
  const { env, request } = await prepareTicketList(DB);
  const sink = await startOtlpSink();
  const cpu = cpuPerRequest();
  const servers: ChildProcess[] = [];
  let results;
  try {
    // Free ports, not fixed ones: other benches (and other branches' benches) may run beside this one.
    const [offPort, metricsPort, metricsScrape, bothPort, bothScrape] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    servers.push(await startProcess('src/main.ts', ['start'], env(offPort), `http://127.0.0.1:${offPort}/healthz`));
    servers.push(await startProcess('src/main.ts', ['start'], env(metricsPort, { METRICS_PORT: String(metricsScrape) }), `http://127.0.0.1:${metricsPort}/healthz`));
    // Tracing on, exporting to the stand-in collector: every span is built and sent.
    servers.push(await startProcess('src/main.ts', ['start'], env(bothPort, { METRICS_PORT: String(bothScrape), OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }), `http://127.0.0.1:${bothPort}/healthz`));
    const scraped = (port: number, run: Run) => async (s: number) => {
      const result = await run(s);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (!response.ok) throw new Error(`/metrics on ${port} answered ${response.status}`);
      await response.text();
      return result;
    };
    const [offServer, metricsServer, bothServer] = servers;
    results = await takeTurns(
      {
        off: cpu.track('off', offServer!, request(offPort, '/graphql')),
        metrics: cpu.track('metrics', metricsServer!, scraped(metricsScrape, request(metricsPort, '/graphql'))),
        both: cpu.track('both', bothServer!, scraped(bothScrape, request(bothPort, '/graphql'))),
      },
      seconds,
    );
  } finally {
    await Promise.all(servers.map(stopProcess));
    await sink.close();
  }
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);
  const { off, metrics, both } = results;
  const base = { bench: 'ticket_list_observability_cost', tickets: 10000, connections: 10, seconds, baseline: 'metrics and tracing off' };
  const errors = off.errors + metrics.errors + both.errors;
  report({ ...base, with: 'metrics', figure: 'requests_per_s', intake: metrics.rps, baseline_rps: off.rps, ratio: ratio(metrics.rps, off.rps), target_ratio: 0.95, errors });
  // Throughput on a machine shared with other work drifts by ±10 % between turns; the server's own
  // CPU time per answered request (from /proc, warm-up included alike) is the steadier figure.
  report({ ...base, with: 'metrics', figure: 'server_cpu_ms_per_request', intake: cpu.msPerRequest('metrics'), baseline_ms: cpu.msPerRequest('off'), ratio: ratio(cpu.msPerRequest('metrics'), cpu.msPerRequest('off')), target_ratio: 1.05 });
  report({ ...base, with: 'metrics+tracing', figure: 'server_cpu_ms_per_request', intake: cpu.msPerRequest('both'), baseline_ms: cpu.msPerRequest('off'), ratio: ratio(cpu.msPerRequest('both'), cpu.msPerRequest('off')) });
  report({ ...base, with: 'metrics', figure: 'latency_p50_ms', intake: metrics.p50, baseline_ms: off.p50 });
  report({ ...base, with: 'metrics', figure: 'latency_p99_ms', intake: metrics.p99, baseline_ms: off.p99 });
  // otlp_exports_received: the span batches the stand-in collector took (0 would mean tracing never ran).
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

type Run = (seconds: number) => Promise<import('./support.js').LoadRun>;

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name; in clock ticks (100 a second).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The server's CPU time per answered request, summed over every turn of a contender. */
function cpuPerRequest() {
  const totals = new Map<string, { cpu: number; requests: number }>();
  return {
    track(name: string, server: ChildProcess, run: Run): Run {
      return async (seconds) => {
        const start = cpuSecondsOf(server.pid!);
        const result = await run(seconds);
        const total = totals.get(name) ?? { cpu: 0, requests: 0 };
        total.cpu += cpuSecondsOf(server.pid!) - start;
        total.requests += result.latencies.length;
        totals.set(name, total);
        return result;
      };
    },
    msPerRequest(name: string): number {
      const total = totals.get(name)!;
      return Math.round((total.cpu / total.requests) * 1000 * 100) / 100;
    },
  };
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';

export interface MetricsListener {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

/**
 * /metrics on a listener of its own (METRICS_HOST:METRICS_PORT, 127.0.0.1 by default), never on
 * the public port: a scrape reads the database-state gauges, and the figures are not the
 * public's. `figures` renders the text (one registry, or every worker's together).
 */
export async function serveMetrics(host: string, port: number, figures: { text(): Promise<string>; contentType: string }, log: Logger): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: the figures are at /metrics\n');
      return;
    }
    figures.text().then(
      (text) => res.writeHead(200, { 'content-type': figures.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      (err) => {
        log.error('metrics scrape failed', { err });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics could not be collected\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One app's figures. */
export function registryFigures(registry: Registry) {
  return { text: () => registry.metrics(), contentType: registry.contentType };
}

/**
 * With INTAKE_WORKERS above 1 the primary process serves /metrics: it asks every worker for its
 * figures over the cluster's IPC channel and serves them added up (counters and histograms
 * summed; database-state gauges, the same in every worker, as their maximum).
 */
export async function clusterFigures() {
  // Loaded only when figures are served: prom-client brings @opentelemetry/api along.
  const { AggregatorRegistry } = await import('prom-client');
  const aggregator = new AggregatorRegistry();
  return { text: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
}

/** In a worker: answer the primary's requests for figures from this registry. */
export async function answerClusterScrapes(registry: Registry): Promise<void> {
  const { AggregatorRegistry } = await import('prom-client');
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one adds the worker's message listener.
  new AggregatorRegistry();
}

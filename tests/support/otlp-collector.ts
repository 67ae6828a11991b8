import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait.js';

/** A span as the collector received it, attributes flattened to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP status code: 2 is ERROR. */
  status: number;
  serviceName: string | undefined;
}

export interface OtlpCollector {
  /** The base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  url: string;
  spans: ReceivedSpan[];
  /** Resolves once a received span satisfies `match`; rejects after the wait's timeout. */
  span(match: (span: ReceivedSpan) => boolean, what: string): Promise<ReceivedSpan>;
  parentOf(span: ReceivedSpan): ReceivedSpan | undefined;
  /** The span's ancestors, nearest first. */
  ancestorsOf(span: ReceivedSpan): ReceivedSpan[];
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };

function valueOf(value: AnyValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue ?? '';
}

const attributesOf = (list: Array<{ key: string; value: AnyValue }> | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));

/**
 * An OpenTelemetry collector stand-in: an HTTP server that takes OTLP/HTTP JSON exports at
 * /v1/traces, as a real collector does, and keeps the spans for the test to read.
 */
export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !/json/.test(req.headers['content-type'] ?? '')) return void res.writeHead(415).end();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || null,
              name: span.name,
              kind: span.kind,
              attributes: attributesOf(span.attributes),
              status: span.status?.code ?? 0,
              serviceName: resource['service.name'] as string | undefined,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const parentOf = (span: ReceivedSpan) => spans.find((s) => s.spanId === span.parentSpanId && s.traceId === span.traceId);
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    async span(match, what) {
      await waitFor(() => spans.some(match), { what, timeout: 15_000 });
      return spans.find(match)!;
    },
    parentOf,
    ancestorsOf(span) {
      const chain: ReceivedSpan[] = [];
      for (let parent = parentOf(span); parent; parent = parentOf(parent)) chain.push(parent);
      return chain;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

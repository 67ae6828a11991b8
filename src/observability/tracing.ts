import type { Config } from '../config.js';
import type { Logger } from '../log.js';

/** A span's attribute values, as OpenTelemetry takes them. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

export interface SpanOptions {
  /** `server` for work a client asked for (an HTTP request, an SMTP transaction), `client` for calls out (SQL, a relay); `internal` by default. */
  kind?: 'server' | 'client' | 'internal';
  attributes?: SpanAttributes;
  /** W3C trace context headers of the caller (traceparent, tracestate): the span continues its trace. */
  parentHeaders?: Record<string, string | string[] | undefined>;
}

/** A span in progress, as the code that traces sees it. */
export interface SpanHandle {
  setAttributes(attributes: SpanAttributes): void;
  updateName(name: string): void;
  /** Marks the span failed, with the error as an event. */
  fail(err: unknown): void;
  end(): void;
}

/**
 * Traces of this process, sent over OTLP: only when OTEL_EXPORTER_OTLP_ENDPOINT is set, and then
 * made by `startTracing`. Code that traces holds a `Tracing | null` and does nothing (allocates
 * nothing) when it is null: the OpenTelemetry packages are not even loaded then.
 */
export interface Tracing {
  /**
   * Runs `work` in a new span, a child of the active one (or of `parentHeaders`); the span ends
   * when `work` returns or its promise settles, failed when it throws or rejects.
   */
  span<T>(name: string, options: SpanOptions, work: (span: SpanHandle) => T): T;
  /** Starts a span the caller ends (an HTTP answer ends when its socket finishes, not when its handler returns). */
  startSpan(name: string, options: SpanOptions): SpanHandle;
  /** Runs `work` with `span` active: spans started inside are its children. */
  withSpan<T>(span: SpanHandle, work: () => T): T;
  /** Sends the spans not sent yet and stops. */
  shutdown(): Promise<void>;
}

/**
 * Tracing as configured: null when no endpoint is set, else the OpenTelemetry SDK, loaded here
 * (a dynamic import, so a server without tracing loads none of it).
 */
export async function startTracing(config: Pick<Config, 'tracing'>, log: Logger): Promise<Tracing | null> {
  if (!config.tracing) return null;
  const { createOtelTracing } = await import('./otel.js');
  return createOtelTracing(config.tracing, log);
}

/** Whether `value` is a promise-like: a span around async work ends when it settles. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

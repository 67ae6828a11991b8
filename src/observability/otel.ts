// Loaded only when tracing is configured (tracing.ts imports it dynamically): the one file that
// imports OpenTelemetry.
import { context, defaultTextMapGetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TracingSettings } from '../config.js';
import type { Logger } from '../log.js';
import { isPromiseLike, type SpanAttributes, type SpanHandle, type SpanOptions, type Tracing } from './tracing.js';

const KINDS = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL } as const;

/** Set once per process: spans of every app in it nest through the same AsyncLocalStorage. */
let contextManagerSet = false;

class Handle implements SpanHandle {
  constructor(readonly span: Span) {}
  setAttributes(attributes: SpanAttributes) {
    this.span.setAttributes(attributes);
  }
  updateName(name: string) {
    this.span.updateName(name);
  }
  fail(err: unknown) {
    const error = err instanceof Error ? err : new Error(String(err));
    this.span.recordException(error);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message.slice(0, 500) });
  }
  end() {
    this.span.end();
  }
}

export function createOtelTracing(settings: TracingSettings, log: Logger): Tracing {
  if (!contextManagerSet) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerSet = true;
  }
  const exporter = new OTLPTraceExporter({ url: settings.url });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: settings.exportDelayMs })],
  });
  const tracer = provider.getTracer('intake');
  const propagator = new W3CTraceContextPropagator();

  const start = (name: string, options: SpanOptions): Handle => {
    const parent: Context = options.parentHeaders ? propagator.extract(ROOT_CONTEXT, options.parentHeaders, defaultTextMapGetter) : context.active();
    return new Handle(tracer.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes: options.attributes }, parent));
  };
  const within = <T>(handle: SpanHandle, work: () => T): T => context.with(trace.setSpan(context.active(), (handle as Handle).span), work);

  log.info('tracing on: spans go to the OTLP endpoint', { url: settings.url, serviceName: settings.serviceName });
  return {
    startSpan: start,
    withSpan: within,
    span<T>(name: string, options: SpanOptions, work: (span: SpanHandle) => T): T {
      const handle = start(name, options);
      let result: T;
      try {
        result = within(handle, () => work(handle));
      } catch (err) {
        handle.fail(err);
        handle.end();
        throw err;
      }
      if (!isPromiseLike(result)) {
        handle.end();
        return result;
      }
      return Promise.resolve(result).then(
        (value) => (handle.end(), value),
        (err: unknown) => {
          handle.fail(err);
          handle.end();
          throw err;
        },
      ) as unknown as T;
    },
    async shutdown() {
      await provider.shutdown().catch((err: unknown) => log.warn('sending the last spans failed', { err }));
    },
  };
}

// Loaded only when tracing is configured (tracing.ts imports it dynamically): the one file that
// uses OpenTelemetry. Its packages are imported dynamically too: the start bundle (bin/intake.mjs)
// keeps them outside, and esbuild would hoist a static import of an outside package to the top
// of the bundle, loading it in every server.
import type { Context, Span, SpanStatusCode as StatusCodes } from '@opentelemetry/api';
import type { TracingSettings } from '../config.js';
import type { Logger } from '../log.js';
import { isPromiseLike, type SpanAttributes, type SpanHandle, type SpanOptions, type Tracing } from './tracing.js';

/** Set once per process: spans of every app in it nest through the same AsyncLocalStorage. */
let contextManagerSet = false;

class Handle implements SpanHandle {
  constructor(
    readonly span: Span,
    private readonly error: StatusCodes.ERROR,
  ) {}
  setAttributes(attributes: SpanAttributes) {
    this.span.setAttributes(attributes);
  }
  updateName(name: string) {
    this.span.updateName(name);
  }
  fail(err: unknown) {
    const error = err instanceof Error ? err : new Error(String(err));
    this.span.recordException(error);
    this.span.setStatus({ code: this.error, message: error.message.slice(0, 500) });
  }
  end() {
    this.span.end();
  }
}

export async function createOtelTracing(settings: TracingSettings, log: Logger): Promise<Tracing> {
  const [{ context, defaultTextMapGetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor, TracerProvider }] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace'),
    ]);
  const kinds = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL } as const;
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
    return new Handle(tracer.startSpan(name, { kind: kinds[options.kind ?? 'internal'], attributes: options.attributes }, parent), SpanStatusCode.ERROR);
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

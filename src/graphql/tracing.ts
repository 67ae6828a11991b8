import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { SpanHandle, Tracing } from '../observability/tracing.js';

/** Where an operation's span rides on its context (a symbol: context objects are spread into new ones, symbols come along). */
export const OPERATION_SPAN = Symbol('intake operation span');

/** An operation's span named as OpenTelemetry's GraphQL conventions say: `query TicketList`. */
export function nameOperationSpan(span: SpanHandle, document: DocumentNode, operationName: string | null | undefined): void {
  const operation = getOperationAST(document, operationName);
  if (!operation) return;
  const name = operation.name?.value.slice(0, 100);
  span.updateName(name ? `${operation.operation} ${name}` : operation.operation);
  span.setAttributes({ 'graphql.operation.type': operation.operation, 'graphql.operation.name': name });
}

/**
 * Spans of GraphQL operations through envelop's instrumentation, which wraps each phase whatever
 * runs it: graphql-jit replaces `execute`, and its work still runs inside the execute span, so
 * the statements it sends nest under it. Over HTTP and SSE Yoga's `operation` phase is the
 * operation's span; graphql-ws operations get theirs from websocket.ts (same OPERATION_SPAN).
 * Added to Yoga only when tracing is on.
 */
export function useTracing(tracing: Tracing): Plugin {
  const phase =
    (name: string) =>
    <T>(_payload: unknown, wrapped: () => T): T =>
      tracing.span(name, {}, () => wrapped());
  const named = (args: { document: DocumentNode; operationName?: string | null; contextValue: unknown }) => {
    const span = (args.contextValue as { [OPERATION_SPAN]?: SpanHandle } | null)?.[OPERATION_SPAN];
    if (span) nameOperationSpan(span, args.document, args.operationName);
  };
  return {
    instrumentation: {
      operation: ({ context }, wrapped) =>
        tracing.span('graphql operation', {}, (span) => {
          (context as unknown as Record<symbol, unknown>)[OPERATION_SPAN] = span;
          return wrapped();
        }),
      parse: phase('graphql.parse'),
      validate: phase('graphql.validate'),
      execute: phase('graphql.execute'),
      subscribe: phase('graphql.subscribe'),
    },
    onExecute({ args }) {
      named(args);
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result ? result.errors : undefined;
          const span = (args.contextValue as { [OPERATION_SPAN]?: SpanHandle } | null)?.[OPERATION_SPAN];
          if (span && errors?.length) span.setAttributes({ 'graphql.error.count': errors.length, 'graphql.error.code': String(errors[0]?.extensions?.code ?? 'INTERNAL') });
        },
      };
    },
    onSubscribe({ args }) {
      named(args);
    },
  };
}

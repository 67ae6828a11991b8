import { getOperationAST, GraphQLError, Kind, type DocumentNode, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { AppMetrics } from './metrics.js';

interface OperationLabels {
  type: string;
  name: string;
  /** A subscription's root field (schema-bounded), else null. */
  field: string | null;
}

/**
 * GraphQL figures through envelop's hooks, which run around whatever executes: graphql-jit's
 * compiled queries as well as graphql-js, over HTTP, SSE and graphql-ws alike. Counted: every
 * operation that reaches execution, its execution time, its errors by code (refusals before
 * execution as well: parse and validation), and open subscriptions by root field.
 */
export function useOperationMetrics(metrics: AppMetrics): Plugin {
  // Yoga caches parsed documents, so the same object comes back for the same query text.
  const labelsByDocument = new WeakMap<DocumentNode, Map<string | null, OperationLabels>>();
  const labelsOf = (document: DocumentNode, operationName: string | null | undefined): OperationLabels => {
    let byName = labelsByDocument.get(document);
    if (!byName) labelsByDocument.set(document, (byName = new Map()));
    const key = operationName ?? null;
    let labels = byName.get(key);
    if (!labels) {
      const operation = getOperationAST(document, operationName);
      const first = operation?.selectionSet.selections[0];
      labels = {
        type: operation?.operation ?? 'unknown',
        name: metrics.operationLabel(operation?.name?.value),
        field: operation?.operation === 'subscription' && first?.kind === Kind.FIELD ? first.name.value : null,
      };
      byName.set(key, labels);
    }
    return labels;
  };
  const countErrors = (labels: Pick<OperationLabels, 'type' | 'name'>, errors: readonly unknown[] | undefined) => {
    for (const error of errors ?? []) metrics.graphqlErrors.inc({ type: labels.type, name: labels.name, code: codeOf(error) });
  };
  const unknown = { type: 'unknown', name: 'unknown' };

  return {
    onParse() {
      return ({ result }) => {
        if (result instanceof Error) metrics.graphqlErrors.inc({ ...unknown, code: 'GRAPHQL_PARSE_FAILED' });
      };
    },
    onValidate({ params }) {
      return ({ result }) => {
        if (result.length === 0) return;
        const { type, name } = labelsOf(params.documentAST, null);
        metrics.graphqlErrors.inc({ type, name, code: 'GRAPHQL_VALIDATION_FAILED' }, result.length);
      };
    },
    onExecute({ args }) {
      const labels = labelsOf(args.document, args.operationName);
      const started = performance.now();
      metrics.graphqlOperations.inc({ type: labels.type, name: labels.name });
      return {
        onExecuteDone({ result }) {
          metrics.graphqlDuration.observe({ type: labels.type, name: labels.name }, (performance.now() - started) / 1000);
          if (!isAsyncIterable(result)) countErrors(labels, (result as ExecutionResult).errors);
        },
      };
    },
    onSubscribe({ args }) {
      const labels = labelsOf(args.document, args.operationName);
      const overSse = (args.contextValue as { socket?: unknown }).socket === undefined;
      const started = performance.now();
      metrics.graphqlOperations.inc({ type: labels.type, name: labels.name });
      return {
        onSubscribeResult({ result }) {
          metrics.graphqlDuration.observe({ type: labels.type, name: labels.name }, (performance.now() - started) / 1000);
          if (!isAsyncIterable(result)) return void countErrors(labels, result.errors);
          const field = labels.field ?? 'unknown';
          metrics.subscriptionsOpen.inc({ field });
          if (overSse) metrics.sseStreamsOpen.inc();
          return {
            onNext({ result: event }) {
              countErrors(labels, event.errors);
            },
            onEnd() {
              metrics.subscriptionsOpen.dec({ field });
              if (overSse) metrics.sseStreamsOpen.dec();
            },
          };
        },
      };
    },
  };
}

/**
 * An error's code as clients see it. Without one: a thrown non-GraphQL error is unexpected (masked
 * for clients), anything else is graphql-js refusing the request (a variable of the wrong type).
 */
function codeOf(error: unknown): string {
  const graphqlError = error as GraphQLError | undefined;
  const code = graphqlError?.extensions?.code;
  if (typeof code === 'string' && code.length <= 40) return code;
  const original = graphqlError?.originalError;
  return !(error instanceof GraphQLError) || (original && !(original instanceof GraphQLError)) ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST';
}

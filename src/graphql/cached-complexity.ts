import SchemaBuilder, { createContextCache, type SchemaTypes } from '@pothos/core';
import { PothosComplexityPlugin } from '@pothos/plugin-complexity';
import type { GraphQLResolveInfo, OperationDefinitionNode } from 'graphql';
import type { Context } from './context.js';

type Complexity = { complexity: number; depth: number; breadth: number };

/** Results kept per document: the variables it is sent with, per caller kind. */
const MAX_PER_OPERATION = 64;
/** Variables longer than this as JSON are not worth a key: their cost is computed each time. */
const MAX_KEY_LENGTH = 1024;

/**
 * The complexity plugin, with a query's cost computed once per parsed document, variables and
 * caller kind rather than on every request: parsed documents are cached, so the same query sent
 * again brings the same operation node. The limits are still checked on every request against
 * the caller's own maxima; only the walk that adds up the cost is skipped. Bounded: at most
 * MAX_PER_OPERATION results per operation (least recently used go first), dropped with it.
 */
export class CachedComplexityPlugin<Types extends SchemaTypes> extends PothosComplexityPlugin<Types> {
  private readonly byOperation = new WeakMap<OperationDefinitionNode, Map<string, Complexity>>();

  constructor(...args: ConstructorParameters<typeof PothosComplexityPlugin<Types>>) {
    super(...args);
    const computeOnce = this.complexityCache;
    this.complexityCache = createContextCache((ctx: Types['Context'], info: GraphQLResolveInfo): Complexity => {
      const key = `${(ctx as unknown as Partial<Context>).principal?.kind}:${JSON.stringify(info.variableValues)}`;
      if (key.length > MAX_KEY_LENGTH) return computeOnce(ctx, info);
      let results = this.byOperation.get(info.operation);
      if (!results) this.byOperation.set(info.operation, (results = new Map()));
      const known = results.get(key);
      if (known) {
        results.delete(key);
        results.set(key, known);
        return known;
      }
      const computed = computeOnce(ctx, info);
      if (results.size >= MAX_PER_OPERATION) results.delete(results.keys().next().value!);
      results.set(key, computed);
      return computed;
    });
  }
}

SchemaBuilder.registerPlugin('cachedComplexity', CachedComplexityPlugin);

// Pothos finds plugins through this global namespace: the one place a namespace is the API.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      cachedComplexity: CachedComplexityPlugin<Types>;
    }
  }
}

export default 'cachedComplexity' as const;

import SchemaBuilder from '@pothos/core';
import '@pothos/plugin-complexity';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { getNullableType, GraphQLError, isListType, Kind } from 'graphql';
import CachedComplexityPlugin from './cached-complexity.js';
import { authScopesOf, type AuthScopes, type PrincipalKind } from '../auth/principal.js';
import { relations, type Relations } from '../db/relations.js';
import type { Context } from './context.js';
import { decodeGlobalIdStrictly, loadNodes, loadNodesWith } from './global-id.js';
import { isoTime } from './iso-time.js';
import TextInputsPlugin from './text-inputs.js';

/**
 * Every query limit, in one place, keyed on the principal kind: anonymous callers only reach
 * public fields and chat visitors their own session, so they get far less room than staff.
 * Depth, breadth and complexity are checked by the complexity plugin; aliases and tokens by the
 * envelop plugin in limits.ts, before execution (and before the caller is known, so for all alike).
 */
export const queryLimits = {
  byPrincipal: {
    admin: { depth: 12, breadth: 300, complexity: 20000 },
    agent: { depth: 12, breadth: 300, complexity: 20000 },
    visitor: { depth: 8, breadth: 100, complexity: 2000 },
    anonymous: { depth: 6, breadth: 60, complexity: 300 },
  } satisfies Record<PrincipalKind, { depth: number; breadth: number; complexity: number }>,
  maxAliases: 30,
  maxTokens: 5000,
  /** Brackets nested deeper than this (values as well as selections) are refused before parsing. */
  maxNesting: 64,
  /** IDs one `nodes` call may ask for; each also counts in the query cost like a page item. */
  maxNodeIds: 100,
};

/** What a failed scope asks for, in words a caller can act on. */
const scopeNeeds: Record<keyof AuthScopes, string> = {
  admin: 'the ADMIN role',
  agent: 'an agent or admin token',
  operatorOf: "an operator of the chat's channel",
  visitorOf: "the chat session's visitor token",
};

function neededScopes(failure: AuthFailure): string[] {
  if (failure.kind === AuthScopeFailureType.AuthScope) return [scopeNeeds[failure.scope as keyof AuthScopes] ?? failure.scope];
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    return [...new Set(failure.failures.flatMap(neededScopes))];
  }
  return [];
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DrizzleRelations: Relations;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    Date: { Input: string; Output: string };
    ID: { Input: string; Output: string | number };
  };
}>({
  plugins: [ScopeAuthPlugin, CachedComplexityPlugin, RelayPlugin, DrizzlePlugin, TextInputsPlugin],
  defaultFieldNullability: false,
  drizzle: {
    client: (ctx) => ctx.db,
    getTableConfig,
    relations,
    defaultConnectionSize: 20,
    maxConnectionSize: 100,
  },
  scopeAuth: {
    authorizeOnSubscribe: true,
    // Admins and agents work tickets; only admins configure; per-object rights take parameters.
    authScopes: (ctx) => authScopesOf(ctx.principal, ctx.auth.scopeLookups),
    unauthorizedError: (_parent, ctx, info, result) => {
      const field = `${info.parentType.name}.${info.fieldName}`;
      if (ctx.principal.kind === 'anonymous') {
        return new GraphQLError(`Authentication required for ${field}: send "Authorization: Bearer <token>".`, {
          extensions: { code: 'UNAUTHENTICATED' },
        });
      }
      const needs = neededScopes(result.failure);
      return new GraphQLError(`Forbidden: ${field} needs ${needs.length ? needs.join(' or ') : 'another principal'}.`, {
        extensions: { code: 'FORBIDDEN' },
      });
    },
  },
  complexity: {
    // A connection's cost grows with the page it asks for; lists under it are that page.
    fieldComplexity: (args, _ctx, field) => {
      const page = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : null;
      if (page !== null) return { field: 1, multiplier: Math.max(page, 1) };
      if (Array.isArray(args.ids)) return { field: 1, multiplier: Math.max(args.ids.length, 1) };
      if (field.name === 'edges' || field.name === 'nodes') return { field: 1, multiplier: 1 };
      return { field: 1, multiplier: isListType(getNullableType(field.type)) ? 10 : 1 };
    },
    limit: (ctx) => queryLimits.byPrincipal[ctx.principal.kind],
    complexityError: (kind, result) => {
      const [value, limit] = {
        Depth: [result.depth, result.maxDepth],
        Breadth: [result.breadth, result.maxBreadth],
        Complexity: [result.complexity, result.maxComplexity],
      }[kind];
      return new GraphQLError(`Query ${kind.toLowerCase()} ${value} exceeds the limit of ${limit}.`, {
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      });
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesOnConnection: { description: 'The nodes of this page, without their cursors.' },
    nodeTypeOptions: { description: 'An object with a globally unique ID that `node` can refetch.' },
    pageInfoTypeOptions: { description: 'Where a page of a connection sits in the whole list.' },
    idFieldOptions: { description: 'Globally unique ID of this object.' },
    decodeGlobalID: decodeGlobalIdStrictly,
    nodeQueryOptions: {
      description: 'Fetches any object by its global ID; null when it does not exist.',
      args: { id: { description: 'A global ID.' } },
      resolve: (_root, args, ctx, info) => loadNodes(ctx, info, [args.id]).then(([node]) => node as never),
    },
    nodesQueryOptions: {
      description: `Fetches objects by their global IDs (at most ${queryLimits.maxNodeIds}), in order; null for one that does not exist.`,
      args: { ids: { description: 'Global IDs.' } },
      resolve: (_root, args, ctx, info) => {
        if (args.ids.length > queryLimits.maxNodeIds) {
          throw new GraphQLError(`nodes takes at most ${queryLimits.maxNodeIds} IDs per call, got ${args.ids.length}.`, { extensions: { code: 'BAD_USER_INPUT' } });
        }
        return loadNodes(ctx, info, args.ids) as never;
      },
    },
    cursorFieldOptions: { description: 'Opaque cursor of this edge, for `after`.' },
    nodeFieldOptions: { description: 'The object at this edge.' },
    edgesFieldOptions: { description: 'The edges of this page, in order.' },
    pageInfoFieldOptions: { description: 'Where this page sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'Whether more items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede this page.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of this page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item of this page; pass it as `after` for the next page.' },
    firstArgOptions: { description: 'Page size: at most 100, 20 when left out.' },
    lastArgOptions: { description: 'Page size when paging backwards: at most 100.' },
    afterArgOptions: { description: 'Return items after this cursor.' },
    beforeArgOptions: { description: 'Return items before this cursor.' },
  },
});

loadNodesWith(builder);

/** 0001-01-01 to 9999-12-31: what PostgreSQL's timestamptz and ISO 8601 without a sign both hold. */
function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string.', { extensions: { code: 'BAD_USER_INPUT' } });
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) throw new GraphQLError('DateTime must lie between the years 0001 and 9999.', { extensions: { code: 'BAD_USER_INPUT' } });
  return date;
}

builder.scalarType('DateTime', {
  description: 'A point in time, as an ISO 8601 string in UTC (e.g. 2026-11-21T08:30:00.000Z), in the years 0001–9999.',
  serialize: (value) => isoTime(value instanceof Date ? value.getTime() : new Date(value).getTime()),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date "YYYY-MM-DD" that exists (2026-02-30 does not). */
function parseDate(value: unknown): string {
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : null;
  if (!match || !date || date.toISOString().slice(0, 10) !== value) throw new GraphQLError('Date must be a calendar date "YYYY-MM-DD".');
  return value as string;
}

builder.scalarType('Date', {
  description: 'A calendar date without time or zone, "YYYY-MM-DD" (e.g. 2026-12-25).',
  serialize: (value) => String(value),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : null),
});

import { encodeGlobalID } from '@pothos/plugin-relay';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { schema } from '../../src/graphql/schema.js';
import { createToken, createVisitorSession } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, subscribe, type TestServer } from '../support/server.js';

/**
 * Calls every root field as each kind of caller and compares who gets through with the committed
 * table. The field list comes from the schema, so a new root field without a row fails here.
 */
const MATRIX_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'authorization-matrix.json');
const matrix = JSON.parse(fs.readFileSync(MATRIX_FILE, 'utf8')) as Record<string, Caller[]>;

const CALLERS = ['anonymous', 'visitor', 'agent', 'admin'] as const;
type Caller = (typeof CALLERS)[number];
type Outcome = 'allowed' | 'refused';
const REFUSALS = new Set(['UNAUTHENTICATED', 'FORBIDDEN']);

let server: TestServer;
const tokens: Record<Caller, string | null> = { anonymous: null, visitor: null, agent: null, admin: ADMIN_TOKEN };

beforeAll(async () => {
  server = await startTestServer();
  tokens.agent = await createToken(server, 'AGENT', 'Matrix Agent');
  // A visitor of some other chat session: its token must open nothing outside that session.
  tokens.visitor = (await createVisitorSession(server)).token;
});
afterAll(async () => {
  await server?.stop();
});

function rootFields(): Array<{ key: string; operation: 'query' | 'mutation' | 'subscription'; field: GraphQLField<unknown, unknown> }> {
  const roots: Array<['query' | 'mutation' | 'subscription', GraphQLObjectType | null | undefined]> = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ];
  return roots.flatMap(([operation, type]) =>
    type ? Object.values(type.getFields()).map((field) => ({ key: `${type.name}.${field.name}`, operation, field })) : [],
  );
}

/**
 * IDs of arguments whose object is checked per caller (a chat session is its visitor's and its
 * channel's operators'): of the right type, so that the check is reached, naming no row.
 */
const PER_OBJECT_IDS: Record<string, string> = { sessionId: 'LiveChatSession', channelId: 'LiveChatChannel' };

/** The smallest value the type accepts; wrong ids and names are fine, the call only has to reach authorisation. */
function sampleValue(type: GraphQLInputType, name = ''): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType, name);
  if (type.name === 'ID' && PER_OBJECT_IDS[name]) return encodeGlobalID(PER_OBJECT_IDS[name], '2147483647');
  if (isListType(type)) return [];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => isNonNullType(f.type) && f.defaultValue === undefined)
        .map((f) => [f.name, sampleValue(f.type, f.name)]),
    );
  }
  // A well-formed global ID of no type: mutations answer INVALID_ID, queries BAD_USER_INPUT, both after authorisation.
  const samples: Record<string, unknown> = { ID: encodeGlobalID('Probe', '1'), Int: 1, Float: 1, Boolean: false, DateTime: '2026-01-01T00:00:00.000Z', Date: '2026-01-01' };
  return samples[type.name] ?? 'x';
}

/** A document calling only `field`, with its required arguments as variables and `__typename` as selection. */
function probe(operation: string, field: GraphQLField<unknown, unknown>) {
  const required = field.args.filter((a: GraphQLArgument) => isNonNullType(a.type) && a.defaultValue === undefined);
  const declarations = required.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = required.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  return {
    query: `${operation} Probe${declarations ? `(${declarations})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`,
    variables: Object.fromEntries(required.map((a) => [a.name, sampleValue(a.type, a.name)])),
  };
}

function outcomeOf(errors: Array<{ extensions?: { code?: unknown } }> | undefined): Outcome {
  return errors?.some((e) => REFUSALS.has(String(e.extensions?.code))) ? 'refused' : 'allowed';
}

async function overHttp(caller: Caller, request: { query: string; variables: Record<string, unknown> }): Promise<Outcome> {
  const token = tokens[caller];
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(request),
  });
  return outcomeOf(((await response.json()) as { errors?: [] }).errors);
}

/** Subscriptions in the event hub: an accepted subscription shows up there, a refused one never does. */
function openSubscriptions(): number {
  return server.app.events.activeSubscriptions();
}

async function overWebSocket(caller: Caller, request: { query: string; variables: Record<string, unknown> }): Promise<Outcome> {
  const before = openSubscriptions();
  const subscription = subscribe(server.wsClient(tokens[caller]), request.query, request.variables);
  try {
    return await vi.waitFor(
      () => {
        if (subscription.errors.length) return outcomeOf(subscription.errors as []);
        if (subscription.events.length || openSubscriptions() > before) return 'allowed';
        throw new Error('no answer yet');
      },
      { timeout: 5000, interval: 10 },
    );
  } finally {
    subscription.dispose();
    // The next probe counts from here: wait until this one has left the hub.
    await vi.waitFor(() => expect(openSubscriptions()).toBe(before), { timeout: 5000, interval: 10 });
  }
}

describe('authorisation matrix', () => {
  it('has a row for every root field and none for fields that are gone', () => {
    expect(Object.keys(matrix).sort()).toEqual(rootFields().map((f) => f.key).sort());
    for (const [key, callers] of Object.entries(matrix)) {
      for (const caller of callers) expect(CALLERS, `${key} names an unknown caller`).toContain(caller);
    }
  });

  it('lets exactly the callers in the table through, over HTTP and graphql-ws', async () => {
    const actual: Record<string, Caller[]> = {};
    for (const { key, operation, field } of rootFields()) {
      const request = probe(operation, field);
      actual[key] = [];
      for (const caller of CALLERS) {
        const outcome = operation === 'subscription' ? await overWebSocket(caller, request) : await overHttp(caller, request);
        if (outcome === 'allowed') actual[key].push(caller);
      }
    }
    if (process.env.PRINT_MATRIX) console.log(JSON.stringify(actual, null, 2));
    expect(actual).toEqual(Object.fromEntries(Object.keys(actual).map((key) => [key, matrix[key] ?? []])));
  });
});

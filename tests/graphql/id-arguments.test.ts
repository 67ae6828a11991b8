import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Walks the schema for every argument and input field of type ID (on root fields and on the
 * fields of other types) and sends a malformed ID, and the ID of another type, to each: queries
 * and subscriptions answer BAD_USER_INPUT, mutations an INVALID_ID userError on the field's path.
 * A new ID argument is covered the day it is added; only its expected type must be named below.
 */

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** The type an ID location names, by its name (and, for a bare `id`, by the field or input it is on). */
const TYPE_BY_NAME: Record<string, string> = {
  teamId: 'Team',
  ticketId: 'Ticket',
  ticketIds: 'Ticket',
  stageId: 'Stage',
  stageIds: 'Stage',
  targetStageId: 'Stage',
  excludedStageIds: 'Stage',
  sessionId: 'LiveChatSession',
  channelId: 'LiveChatChannel',
  agentId: 'Agent',
  agentIds: 'Agent',
  ruleId: 'LiveChatRule',
  outboundMailId: 'OutboundMail',
  operatorId: 'Agent',
  tokenId: 'ApiToken',
  tagIds: 'Tag',
  customerIds: 'Customer',
};
const TYPE_OF_BARE_ID: Record<string, string> = {
  'Query.ticket': 'Ticket',
  'Query.team': 'Team',
  'Query.liveChatChannel': 'LiveChatChannel',
  'Query.liveChatSession': 'LiveChatSession',
  UpdateTeamInput: 'Team',
  UpdateSlaPolicyInput: 'SlaPolicy',
  DeleteSlaPolicyInput: 'SlaPolicy',
  ReprocessInboundMailInput: 'InboundMail',
};
/** node and nodes take an ID of any type: tests/graphql/ids.test.ts covers them. */
const ANY_TYPE = new Set(['Query.node', 'Query.nodes']);

interface IdLocation {
  parent: GraphQLObjectType;
  field: GraphQLField<unknown, unknown>;
  /** Argument name, then input field names down to the ID. */
  path: string[];
  typename: string;
}

function expectedType(field: string, path: string[], holder: string): string {
  const name = path.at(-1)!;
  const type = name === 'id' ? TYPE_OF_BARE_ID[path.length === 1 ? field : holder] : TYPE_BY_NAME[name];
  if (!type) throw new Error(`name the type ${field}(${path.join('.')}) expects in TYPE_BY_NAME or TYPE_OF_BARE_ID`);
  return type;
}

function idLocations(): IdLocation[] {
  const found: IdLocation[] = [];
  const visit = (parent: GraphQLObjectType, field: GraphQLField<unknown, unknown>, path: string[], type: GraphQLInputType, holder: string, seen: Set<string>) => {
    const named = getNamedType(type);
    const fieldName = `${parent.name}.${field.name}`;
    if (named.name === 'ID') {
      if (!ANY_TYPE.has(fieldName)) found.push({ parent, field, path, typename: expectedType(fieldName, path, holder) });
    } else if (isInputObjectType(named) && !seen.has(named.name)) {
      for (const inner of Object.values(named.getFields())) visit(parent, field, [...path, inner.name], inner.type, named.name, new Set([...seen, named.name]));
    }
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) for (const arg of field.args) visit(type, field, [arg.name], arg.type, '', new Set());
  }
  return found;
}

/** A value for every required part of an input, with `id` for an ID and `target` at the path under test. */
function fill(type: GraphQLInputType, path: string[], target: { path: string[]; value: unknown }, holder: string, root: string): unknown {
  if (path.join('.') === target.path.join('.')) return isListType(isNonNullType(type) ? type.ofType : type) ? [target.value] : target.value;
  const inner = isNonNullType(type) ? type.ofType : type;
  const onPath = target.path.join('.').startsWith(`${path.join('.')}.`);
  if (!isNonNullType(type) && !onPath) return undefined;
  if (isListType(inner)) return [];
  if (isEnumType(inner)) return inner.getValues()[0]!.name;
  if (isInputObjectType(inner)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(inner.getFields())) {
      const filled = fill(field.type, [...path, field.name], target, inner.name, root);
      if (filled !== undefined) value[field.name] = filled;
    }
    return value;
  }
  switch (inner.name) {
    case 'ID':
      // Well formed, of the right type, naming no row: only the ID under test is wrong.
      return b64(`${expectedType(root, path, holder)}:2147483647`);
    case 'Int':
    case 'Float':
      return 1;
    case 'Boolean':
      return false;
    case 'DateTime':
      return new Date().toISOString();
    case 'Date':
      return '2026-01-05';
    default:
      return 'x';
  }
}

function operationFor(location: IdLocation, value: unknown) {
  const kind = location.parent === schema.getMutationType() ? 'mutation' : location.parent === schema.getSubscriptionType() ? 'subscription' : 'query';
  const root = `${location.parent.name}.${location.field.name}`;
  const args = location.field.args.filter((arg) => arg.name === location.path[0] || isNonNullType(arg.type));
  const variables = Object.fromEntries(args.map((arg: GraphQLArgument) => [arg.name, fill(arg.type, [arg.name], { path: location.path, value }, '', root)]));
  const declared = args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const passed = args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = kind === 'mutation' ? '{ userErrors { field code message } }' : isObjectType(getNamedType(location.field.type)) ? '{ __typename }' : '';
  let query = `${location.field.name}(${passed}) ${selection}`;
  if (kind === 'query' && !isRootType(location.parent)) query = pathToField(location.parent, query);
  return { kind, query: `${kind} (${declared}) { ${query} }`, variables };
}

function isRootType(type: GraphQLObjectType) {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].includes(type);
}

/** A field of another type is reached through node(id:), on an object the test made. */
function pathToField(parent: GraphQLObjectType, selection: string): string {
  return `node(id: "${objectIds[parent.name] ?? missing(parent.name)}") { ... on ${parent.name} { ${selection} } }`;
}
const missing = (type: string) => {
  throw new Error(`the test needs an object of type ${type}: create one in beforeAll`);
};

let server: TestServer;
const objectIds: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  const { createTeam } = await server.client().request<any>(`mutation { createTeam(input: { name: "Id Walk", useLiveChat: true }) { team { id liveChatChannel { id } } } }`);
  objectIds.Team = createTeam.team.id;
  objectIds.LiveChatChannel = createTeam.team.liveChatChannel.id;
});
afterAll(async () => {
  await server?.stop();
});

async function send(kind: string, query: string, variables: Record<string, unknown>): Promise<{ data: any; errors: any[] }> {
  if (kind === 'subscription') {
    const client = server.wsClient();
    return new Promise((resolve, reject) => {
      const dispose = client.subscribe(
        { query, variables },
        {
          next: (result: any) => {
            dispose();
            resolve({ data: result.data ?? null, errors: result.errors ?? [] });
          },
          error: (error: any) => resolve({ data: null, errors: Array.isArray(error) ? error : [error] }),
          complete: () => reject(new Error(`${query}: completed without an answer`)),
        },
      );
    });
  }
  try {
    return { data: await server.client().request(query, variables), errors: [] };
  } catch (error) {
    if (error instanceof ClientError) return { data: error.response.data ?? null, errors: (error.response.errors ?? []) as any[] };
    throw error;
  }
}

describe('every ID argument and input field', () => {
  const locations = idLocations();

  it('is found in the schema (the walk sees queries, mutations, subscriptions and other fields)', () => {
    const names = locations.map((l) => `${l.parent.name}.${l.field.name}(${l.path.join('.')})`);
    for (const known of ['Query.ticket(id)', 'Query.team(id)', 'Query.tickets(filter.teamId)', 'Query.liveChatSession(id)', 'Query.liveChatChannel(id)', 'Mutation.createTicket(input.teamId)', 'Subscription.ticketCreated(teamId)', 'LiveChatChannel.sessions(filter.operatorId)']) {
      expect(names).toContain(known);
    }
  });

  for (const location of locations) {
    const name = `${location.parent.name}.${location.field.name}(${location.path.join('.')})`;
    it(`refuses a malformed ID and the ID of another type: ${name}`, async () => {
      const otherType = location.typename === 'Team' ? 'Ticket' : 'Team';
      for (const bad of ['nope', b64(`${otherType}:1`)]) {
        const { kind, query, variables } = operationFor(location, bad);
        const result = await send(kind, query, variables);
        if (kind === 'mutation') {
          expect(result.errors, query).toEqual([]);
          expect(result.data[location.field.name].userErrors, `${query} ${JSON.stringify(variables)}`).toEqual([
            expect.objectContaining({ field: location.path, code: 'INVALID_ID' }),
          ]);
        } else {
          expect(result.errors.map((e) => e.extensions?.code), `${query} ${JSON.stringify(variables)}`).toEqual(['BAD_USER_INPUT']);
          expect(result.errors[0].message).toContain(location.path.join('.'));
        }
      }
    });
  }
});

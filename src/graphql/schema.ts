import { encodeGlobalID } from '@pothos/plugin-relay';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { isObjectType, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './roots.js';
import { sortSchemaKeepingEnumOrder } from './sort-schema.js';
import './user-errors.js';
// Each capability's module file imports its graphql.ts: loading them registers every type.
import '../modules.js';

export const schema: GraphQLSchema = resolveRowIdsSynchronously(sortSchemaKeepingEnumOrder(builder.toSchema({ sortSchema: false })));

/**
 * The relay plugin resolves every node's `id` through an async wrapper: one promise per object,
 * fifty per page of a list, each taking graphql-jit's slow path. A node read from a table whose
 * primary key is its `id` column gets the same global ID (`Type:id`, base64) without the promise.
 * Types with authScopes of their own keep the wrapped resolver: it is where scope-auth checks them.
 */
function resolveRowIdsSynchronously(built: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(built.getTypeMap())) {
    if (!isObjectType(type) || !type.getInterfaces().some((i) => i.name === 'Node')) continue;
    if ((type.extensions?.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes) continue;
    const table = (type.extensions?.pothosDrizzleTable as { table: PgTable } | undefined)?.table;
    const idField = type.getFields().id;
    if (!table || !idField) continue;
    const keys = getTableConfig(table).columns.filter((column) => column.primary);
    if (keys.length !== 1 || keys[0]!.name !== 'id') continue;
    const typeName = type.name;
    idField.resolve = (row: { id: number | string }) => encodeGlobalID(typeName, String(row.id));
  }
  return built;
}

/** The SDL committed as schema.graphql: sorted (enum values in their declared order), so it only changes when the API does. */
export function printIntakeSchema(): string {
  return printSchema(schema) + '\n';
}

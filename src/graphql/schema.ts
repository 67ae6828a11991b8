import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './roots.js';
import './user-errors.js';
import '../auth/graphql.js';
import '../teams/graphql.js';
import '../tickets/graphql.js';
import '../mail/graphql.js';
import '../sla/graphql.js';
import '../webform/graphql.js';

export const schema: GraphQLSchema = builder.toSchema({ sortSchema: true });

/** The SDL committed as schema.graphql: sorted, so it only changes when the API does. */
export function printIntakeSchema(): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}

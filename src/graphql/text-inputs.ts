import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { getNamedType, GraphQLError, isObjectType, type GraphQLFieldResolver } from 'graphql';
import { unstorableTextError } from '../errors.js';
import { hasUnstorableText } from '../text/clean.js';

/** Path to the first string in `value` that cannot be stored as text, or null when all can. */
export function unstorableTextPath(value: unknown, path: string[] = []): string[] | null {
  if (typeof value === 'string') return hasUnstorableText(value) ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorableTextPath(value[i], [...path, String(i)]);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    for (const [key, inner] of Object.entries(value)) {
      const found = unstorableTextPath(inner, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Refuses, in one place, text arguments of every query and mutation that the database could not
 * store (NUL) or that are not Unicode (a lone surrogate). A mutation answers a userError naming
 * the field (code INVALID_TEXT), a query a BAD_USER_INPUT error. Listed after scope-auth, so its
 * resolver runs inside the authorisation check: an anonymous caller still learns only that it
 * must authenticate.
 */
export class TextInputsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: GraphQLFieldResolver<unknown, Types['Context'], object>, fieldConfig: PothosOutputFieldConfig<Types>) {
    if ((fieldConfig.kind !== 'Query' && fieldConfig.kind !== 'Mutation') || Object.keys(fieldConfig.args).length === 0) return resolver;
    return (parent: unknown, args: object, context: Types['Context'], info: Parameters<typeof resolver>[3]) => {
      const path = unstorableTextPath(args);
      if (!path) return resolver(parent, args, context, info);
      const error = unstorableTextError(path);
      const payload = getNamedType(info.returnType);
      if (isObjectType(payload) && payload.getFields().userErrors) return { userErrors: [error] };
      throw new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', field: path } });
    };
  }
}

SchemaBuilder.registerPlugin('textInputs', TextInputsPlugin);

// Pothos finds plugins through this global namespace: the one place a namespace is the API.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      textInputs: TextInputsPlugin<Types>;
    }
  }
}

export default 'textInputs' as const;

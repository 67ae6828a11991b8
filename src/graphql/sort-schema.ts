import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLUnionType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLFieldConfigMap,
  type GraphQLInputFieldConfigMap,
  type GraphQLNamedType,
  type GraphQLType,
} from 'graphql';

/**
 * graphql-js's lexicographicSortSchema, except that enum values keep their declared order: an
 * order such as LOW, MEDIUM, HIGH, URGENT means something, and tools show values as the schema
 * lists them. Types, fields, arguments and input fields are sorted, so the printed schema only
 * changes when the API does.
 */
export function sortSchemaKeepingEnumOrder(schema: GraphQLSchema): GraphQLSchema {
  const config = schema.toConfig();
  const typeMap = new Map<string, GraphQLNamedType>();
  for (const type of sortByName(config.types)) typeMap.set(type.name, sortNamedType(type));

  const named = <T extends GraphQLNamedType>(type: T): T => typeMap.get(type.name) as T;
  const replace = (type: GraphQLType): any =>
    isListType(type) ? new GraphQLList(replace(type.ofType)) : isNonNullType(type) ? new GraphQLNonNull(replace(type.ofType)) : named(type);
  const sortArgs = (args: GraphQLFieldConfigArgumentMap) => sortedMap(args, (arg) => ({ ...arg, type: replace(arg.type) }));
  const sortFields = (fields: GraphQLFieldConfigMap<unknown, unknown>) =>
    sortedMap(fields, (field) => ({ ...field, type: replace(field.type), args: field.args && sortArgs(field.args) }));
  const sortInputFields = (fields: GraphQLInputFieldConfigMap) => sortedMap(fields, (field) => ({ ...field, type: replace(field.type) }));

  function sortNamedType(type: GraphQLNamedType): GraphQLNamedType {
    if (isScalarType(type) || isIntrospectionType(type)) return type;
    if (isObjectType(type)) {
      const c = type.toConfig();
      return new GraphQLObjectType({ ...c, interfaces: () => sortByName(c.interfaces).map(named), fields: () => sortFields(c.fields) });
    }
    if (isInterfaceType(type)) {
      const c = type.toConfig();
      return new GraphQLInterfaceType({ ...c, interfaces: () => sortByName(c.interfaces).map(named), fields: () => sortFields(c.fields) });
    }
    if (isUnionType(type)) {
      const c = type.toConfig();
      return new GraphQLUnionType({ ...c, types: () => sortByName(c.types).map(named) });
    }
    if (isEnumType(type)) return new GraphQLEnumType(type.toConfig());
    if (isInputObjectType(type)) {
      const c = type.toConfig();
      return new GraphQLInputObjectType({ ...c, fields: () => sortInputFields(c.fields) });
    }
    throw new Error(`unexpected type ${String(type)}`);
  }

  return new GraphQLSchema({
    ...config,
    types: [...typeMap.values()],
    directives: sortByName(config.directives),
    query: config.query && named(config.query),
    mutation: config.mutation && named(config.mutation),
    subscription: config.subscription && named(config.subscription),
  });
}

function sortByName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => compare(a.name, b.name));
}

function sortedMap<V, R>(map: Record<string, V>, convert: (value: V) => R): Record<string, R> {
  const sorted: Record<string, R> = Object.create(null);
  for (const key of Object.keys(map).sort(compare)) sorted[key] = convert(map[key]!);
  return sorted;
}

/** Plain code-unit order, so the order does not depend on the machine's locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

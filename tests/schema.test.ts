import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type GraphQLEnumType, isEnumType, isInputObjectType, isInterfaceType, isObjectType, isScalarType, isUnionType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printIntakeSchema, schema } from '../src/graphql/schema.js';
import { root } from './support/databases.js';

describe('schema.graphql', () => {
  it('equals the schema the code prints (run `npm run schema` after changing the API)', () => {
    expect(readFileSync(path.join(root, 'schema.graphql'), 'utf8')).toBe(printIntakeSchema());
  });

  it('lists enum values in their declared order, in the schema and in schema.graphql (types and fields stay sorted)', () => {
    const printed = readFileSync(path.join(root, 'schema.graphql'), 'utf8');
    const printedValues = (name: string) => {
      const block = new RegExp(`^enum ${name} \\{([^}]*)\\}`, 'm').exec(printed)![1]!;
      return [...block.matchAll(/^ {2}([A-Z_][A-Z0-9_]*)$/gm)].map((m) => m[1]);
    };
    expect(printedValues('TicketPriority')).toEqual(['LOW', 'MEDIUM', 'HIGH', 'URGENT']);
    expect((schema.getType('TicketPriority') as GraphQLEnumType).getValues().map((v) => v.name)).toEqual(['LOW', 'MEDIUM', 'HIGH', 'URGENT']);
    const typeNames = [...printed.matchAll(/^(?:type|input|enum|interface|union|scalar) (\w+)/gm)].map((m) => m[1]!);
    expect(typeNames).toEqual([...typeNames].sort());
  });

  it('documents every type, field, argument and enum value, so GraphiQL explains the whole API', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || (isScalarType(type) && ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name))) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of field.args) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      } else if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) if (!field.description) missing.push(`${type.name}.${field.name}`);
      } else if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      } else if (isUnionType(type) && !type.description) {
        missing.push(type.name);
      }
    }
    expect(missing).toEqual([]);
  });
});

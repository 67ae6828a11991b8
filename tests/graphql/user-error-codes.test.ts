import fs, { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GraphQLEnumType, GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ErrorCollector, fail, USER_ERROR_CODES, type UserErrorShape } from '../../src/errors.js';
import { schema } from '../../src/graphql/schema.js';
import { root } from '../support/databases.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(file) : file.endsWith('.ts') ? [file] : [];
  });
}

/** Codes the services hand to fail(), ErrorCollector.add(), a form problem or a UserErrorShape literal. */
function codesEmittedInSource(): Set<string> {
  const patterns = [
    /\bfail\([^;]*?,\s*'([A-Z_]+)'/g,
    /\.add\([^;]*?,\s*'([A-Z_]+)'/g,
    /\bproblem\('([A-Z_]+)'/g,
    /field:[^;{}]*?code: '([A-Z_]+)'/g,
    /code: '([A-Z_]+)'[^;{}]*?message:/g,
  ];
  const codes = new Set<string>();
  for (const file of sourceFiles(SRC)) {
    if (file.endsWith(path.join('src', 'errors.ts'))) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const pattern of patterns) for (const match of text.matchAll(pattern)) codes.add(match[1]!);
    // errors.ts's failRateLimited writes the code and the retry time for its callers.
    if (/\bfailRateLimited\(/.test(text)) codes.add('RATE_LIMITED');
  }
  return codes;
}

describe('userErrors codes', () => {
  it('come from one list, and every code in it is one a service can emit', () => {
    const emitted = codesEmittedInSource();
    // The shared helpers of errors.ts emit these three themselves.
    for (const code of ['REQUIRED', 'TOO_LONG', 'INVALID_TEXT']) emitted.add(code);
    expect([...emitted].sort()).toEqual(Object.keys(USER_ERROR_CODES).sort());
  });

  it('are the enum UserErrorCode, in their declared order, each value described with its meaning', () => {
    const code = (schema.getType('UserError') as GraphQLObjectType).getFields().code!;
    expect(String(code.type)).toBe('UserErrorCode!');
    const values = (schema.getType('UserErrorCode') as GraphQLEnumType).getValues();
    expect(values.map((value) => [value.name, value.description])).toEqual(Object.entries(USER_ERROR_CODES));
    const printed = readFileSync(path.join(root, 'schema.graphql'), 'utf8');
    expect(printed).toContain('code: UserErrorCode!');
    const block = /enum UserErrorCode \{([^}]*)\}/.exec(printed)![1]!;
    expect([...block.matchAll(/^ {2}([A-Z_]+)$/gm)].map((m) => m[1])).toEqual(Object.keys(USER_ERROR_CODES));
  });

  it('are typed: a code outside the list does not compile', () => {
    // The directives below fail the typecheck (npm run typecheck) once a stray code compiles.
    // @ts-expect-error NOT_A_CODE is not a UserErrorCode
    expect(() => fail('name', 'NOT_A_CODE', 'x')).toThrow();
    // @ts-expect-error NOT_A_CODE is not a UserErrorCode
    new ErrorCollector().add('name', 'NOT_A_CODE', 'x');
    // @ts-expect-error NOT_A_CODE is not a UserErrorCode
    const shape: UserErrorShape = { field: null, code: 'NOT_A_CODE', message: 'x' };
    expect(shape.code).toBe('NOT_A_CODE');
  });
});

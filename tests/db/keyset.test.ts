import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { and, sql } from 'drizzle-orm';
import { integer, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, type Database } from '../../src/db/client.js';
import { defineKeyset, pageOf, pickColumns, PreparedShapes, type PageRequest } from '../../src/db/keyset.js';
import { UserInputError } from '../../src/errors.js';
import { tmpRoot } from '../support/databases.js';

// A list of its own, not the tickets': the helper is generic (chat history will page with it too).
const rows = pgTable('paging_rows', {
  id: integer('id').primaryKey(),
  rank: smallint('rank').notNull(),
  at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
  label: text('label').notNull(),
});

const newestFirst = defineKeyset({
  prefix: 'r',
  direction: 'desc',
  parts: [
    { name: 'rank', column: rows.rank, kind: 'int', sqlType: 'smallint', max: 9 },
    { name: 'at', column: rows.at, kind: 'time' },
    { name: 'id', column: rows.id, kind: 'int', sqlType: 'int', max: 2_147_483_647 },
  ],
});
const oldestFirst = defineKeyset({ prefix: 'h', direction: 'asc', parts: [{ name: 'id', column: rows.id, kind: 'int', sqlType: 'int', max: 2_147_483_647 }] });

const b64 = (text: string) => Buffer.from(text).toString('base64url');

function refusal(run: () => unknown): { field: string[]; code: string } | null {
  try {
    run();
    return null;
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    return { field: error.errors[0]!.field ?? [], code: error.errors[0]!.code };
  }
}

describe('keyset cursors', () => {
  it('give back the key they were made from', () => {
    const key = { rank: 3, at: new Date('2026-11-30T10:00:00.123Z'), id: 42 };
    expect(newestFirst.keyOf(newestFirst.cursorOf(key), 'after')).toEqual(key);
    expect(oldestFirst.keyOf(oldestFirst.cursorOf({ id: 7 }), 'after')).toEqual({ id: 7 });
  });

  const forged: Array<[string, string]> = [
    ['not base64 of a key', 'forged'],
    ['JSON', b64('{"id":1}')],
    ['another list’s prefix', b64('h:1')],
    ['a part missing', b64('r:1:1700000000000')],
    ['a part too many', b64('r:1:1700000000000:1:1')],
    ['a rank above its maximum', b64('r:10:1700000000000:1')],
    ['an id beyond int4', b64('r:1:1700000000000:2147483648')],
    ['a time past year 9999', b64('r:1:253402300800000:1')],
    ['a negative number', b64('r:-1:1700000000000:1')],
    ['an exponent', b64('r:1:1e12:1')],
    ['empty', ''],
  ];
  it.each(forged)('refuse a forged cursor (%s) with INVALID_CURSOR on the argument given', (_name, cursor) => {
    expect(refusal(() => newestFirst.keyOf(cursor, 'before'))).toEqual({ field: ['before'], code: 'INVALID_CURSOR' });
  });

  const plans: Array<[string, PageRequest, { size: number; backward: boolean; fromCursor: boolean }]> = [
    ['nothing asked: the default size, forward', {}, { size: 20, backward: false, fromCursor: false }],
    ['first 5', { first: 5 }, { size: 5, backward: false, fromCursor: false }],
    ['more than the maximum', { first: 1000 }, { size: 100, backward: false, fromCursor: false }],
    ['a negative size', { first: -3 }, { size: 0, backward: false, fromCursor: false }],
    ['last 3: backward', { last: 3 }, { size: 3, backward: true, fromCursor: false }],
    ['before a cursor: backward from it', { before: newestFirst.cursorOf({ rank: 1, at: new Date(0), id: 1 }) }, { size: 20, backward: true, fromCursor: true }],
    ['after a cursor', { first: 2, after: newestFirst.cursorOf({ rank: 1, at: new Date(0), id: 1 }) }, { size: 2, backward: false, fromCursor: true }],
  ];
  it.each(plans)('plan a page: %s', (_name, request, expected) => {
    const plan = newestFirst.plan(request);
    expect({ size: plan.size, backward: plan.backward, fromCursor: plan.cursor !== null }).toEqual(expected);
  });

  it('name the argument of a forged cursor in a page request', () => {
    expect(refusal(() => newestFirst.plan({ after: 'forged' }))).toEqual({ field: ['after'], code: 'INVALID_CURSOR' });
    expect(refusal(() => newestFirst.plan({ before: 'forged' }))).toEqual({ field: ['before'], code: 'INVALID_CURSOR' });
  });

  const pages: Array<[string, number[], { size: number; backward: boolean; fromCursor: boolean }, { rows: number[]; hasNextPage: boolean; hasPreviousPage: boolean }]> = [
    ['first page, more beyond', [1, 2, 3], { size: 2, backward: false, fromCursor: false }, { rows: [1, 2], hasNextPage: true, hasPreviousPage: false }],
    ['last forward page after a cursor', [3], { size: 2, backward: false, fromCursor: true }, { rows: [3], hasNextPage: false, hasPreviousPage: true }],
    ['backward from the end, more before', [5, 4, 3], { size: 2, backward: true, fromCursor: false }, { rows: [4, 5], hasNextPage: false, hasPreviousPage: true }],
    ['backward from a cursor, nothing before', [2, 1], { size: 2, backward: true, fromCursor: true }, { rows: [1, 2], hasNextPage: true, hasPreviousPage: false }],
    ['an empty page', [], { size: 2, backward: false, fromCursor: false }, { rows: [], hasNextPage: false, hasPreviousPage: false }],
  ];
  it.each(pages)('cut a page from rows read with one extra: %s', (_name, read, plan, expected) => {
    expect(pageOf(read, { size: plan.size, backward: plan.backward, cursor: plan.fromCursor ? { id: 0 } : null })).toEqual(expected);
  });

  it('pick the named columns of a table, or all of them', () => {
    expect(Object.keys(pickColumns(rows, ['id', 'label', 'nonsense']))).toEqual(['id', 'label']);
    expect(pickColumns(rows, undefined)).toBe(rows);
  });
});

describe('keyset paging on a database', () => {
  let dataDir: string;
  let database: Database;
  // Ranks and times repeat, so only the id decides between some rows: the key must still order them.
  const stored = Array.from({ length: 23 }, (_, i) => ({ id: i + 1, rank: i % 3, at: new Date(Date.UTC(2026, 0, 1 + (i % 4))), label: `row ${i + 1}` }));
  const expectedOrder = [...stored]
    .sort((a, b) => b.rank - a.rank || b.at.getTime() - a.at.getTime() || b.id - a.id)
    .map((r) => r.id);
  const prepared = new PreparedShapes<ReturnType<typeof build>>();

  function build(db: Database['db'], withCursor: boolean, backward: boolean, size: number) {
    return db
      .select({ row: pickColumns(rows, ['id', 'rank', 'at']) })
      .from(rows)
      .where(and(sql`true`, withCursor ? newestFirst.position(backward) : undefined))
      .orderBy(...newestFirst.order(backward))
      .limit(size + 1)
      .prepare(`paging_${withCursor}_${backward}_${size}`);
  }

  async function page(request: PageRequest) {
    const plan = newestFirst.plan(request);
    const query = prepared.get(database.db, `${plan.cursor !== null}:${plan.backward}:${plan.size}`, () => build(database.db, plan.cursor !== null, plan.backward, plan.size));
    const read = (await query.execute(newestFirst.parameters(plan.cursor))) as Array<{ row: { id: number; rank: number; at: Date } }>;
    return pageOf(read.map((r) => r.row), plan);
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpRoot, 'keyset-'));
    database = await openPglite(dataDir);
    await database.db.execute(sql`create table paging_rows (id int primary key, rank smallint not null, at timestamptz(3) not null, label text not null)`);
    await database.db.insert(rows).values(stored);
  });
  afterAll(async () => {
    await database?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('walks forward page by page through every row once, in key order', async () => {
    const seen: number[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const result = await page({ first: 5, after });
      seen.push(...result.rows.map((r) => r.id));
      expect(result.hasPreviousPage).toBe(after !== null);
      if (!result.hasNextPage) break;
      after = newestFirst.cursorOf(result.rows.at(-1)!);
    }
    expect(seen).toEqual(expectedOrder);
  });

  it('walks backward from the end to the same order', async () => {
    const seen: number[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const result = await page({ last: 4, before });
      seen.unshift(...result.rows.map((r) => r.id));
      expect(result.hasNextPage).toBe(before !== null);
      if (!result.hasPreviousPage) break;
      before = newestFirst.cursorOf(result.rows[0]!);
    }
    expect(seen).toEqual(expectedOrder);
  });

  it('reuses one prepared statement per shape', async () => {
    const shapes = new PreparedShapes<object>(2);
    const made: string[] = [];
    const get = (shape: string) => shapes.get(database.db, shape, () => (made.push(shape), { shape }));
    expect(get('a')).toBe(get('a'));
    get('b');
    get('c'); // evicts a, the oldest
    get('a');
    expect(made).toEqual(['a', 'b', 'c', 'a']);
  });
});

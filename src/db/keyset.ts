import { asc, desc, getColumns, sql, type Column, type SQL, type Table } from 'drizzle-orm';
import { fail } from '../errors.js';
import type { DbOrTx } from './client.js';

/**
 * Keyset paging, shared by every list that pages through an index (tickets, chat history): the
 * list is ordered by a key of columns ending in a unique one, a cursor is the key of a row, and
 * the next page is the rows whose key comes after it. No OFFSET: a page costs the same deep in
 * the list as at its start, and rows written meanwhile neither repeat nor vanish.
 */

/** One column of a keyset key: an integer in [min, max], or a millisecond time. */
export type KeyPart =
  | { name: string; column: Column; kind: 'int'; sqlType: 'smallint' | 'int' | 'bigint'; min?: number; max: number }
  | { name: string; column: Column; kind: 'time' };

type KeyValue<P extends KeyPart> = P extends { kind: 'time' } ? Date : number;
export type KeyOf<P extends readonly KeyPart[]> = { [E in P[number] as E['name']]: KeyValue<E> };

/** 9999-12-31T23:59:59.999Z: a forged cursor may not spell a five-digit year. */
const MAX_CURSOR_TIME = 253_402_300_799_999;

/** Connection arguments as Relay spells them. */
export interface PageRequest {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** What a page request asks of the query: how many rows, which way, from which key. */
export interface PagePlan<K> {
  size: number;
  backward: boolean;
  cursor: K | null;
}

export interface Keyset<K> {
  /** Opaque to clients: the row's place in the order. */
  cursorOf(row: K): string;
  /** The key a cursor names; a cursor this list did not give out fails with INVALID_CURSOR on `field`. */
  keyOf(cursor: string, field: string): K;
  /** The page a request asks for, its size clamped to [0, maxSize]. */
  plan(page: PageRequest, sizes?: { defaultSize?: number; maxSize?: number }): PagePlan<K>;
  /** Rows strictly after the cursor placeholders in the list's direction (before them, going backward). */
  position(backward: boolean): SQL;
  /** The list's order (reversed going backward), for orderBy. */
  order(backward: boolean): SQL[];
  /** Values for the placeholders of `position`. */
  parameters(cursor: K | null): Record<string, number | string | undefined>;
}

/**
 * A keyset over `parts`, all ordered `direction` (a row comparison needs one direction). Cursors
 * are `prefix:v1:v2…` in base64url; every value is checked against the column's range, so a
 * forged cursor is refused here rather than by the database.
 */
export function defineKeyset<const P extends readonly KeyPart[]>(options: { prefix: string; parts: P; direction: 'asc' | 'desc' }): Keyset<KeyOf<P>> {
  const { prefix, parts, direction } = options;
  const placeholder = (part: KeyPart) => `cursor_${part.name}`;
  const pattern = new RegExp(`^${prefix}${parts.map(() => ':(\\d{1,19})').join('')}$`);
  const keyColumns = sql.join(
    parts.map((part) => sql`${part.column}`),
    sql`, `,
  );
  const bound = sql.join(
    parts.map((part) => sql`${sql.placeholder(placeholder(part))}::${sql.raw(part.kind === 'time' ? 'timestamptz' : part.sqlType)}`),
    sql`, `,
  );
  const keyOf = (cursor: string, field: string): KeyOf<P> => {
    const match = pattern.exec(Buffer.from(cursor, 'base64url').toString());
    const key: Record<string, number | Date> = {};
    const valid =
      match !== null &&
      parts.every((part, i) => {
        const value = Number(match[i + 1]);
        if (part.kind === 'time') {
          key[part.name] = new Date(value);
          return value <= MAX_CURSOR_TIME;
        }
        key[part.name] = value;
        return value >= (part.min ?? 0) && value <= part.max;
      });
    if (!valid) fail(field, 'INVALID_CURSOR', 'The cursor is not one this list gave out.');
    return key as KeyOf<P>;
  };
  return {
    keyOf,
    cursorOf(row) {
      const values = parts.map((part) => {
        const value = (row as Record<string, number | Date>)[part.name]!;
        return part.kind === 'time' ? (value as Date).getTime() : (value as number);
      });
      return Buffer.from(`${prefix}:${values.join(':')}`).toString('base64url');
    },
    plan(page, sizes = {}) {
      const backward = page.last != null || page.before != null;
      const size = Math.min(Math.max(page.first ?? page.last ?? sizes.defaultSize ?? 20, 0), sizes.maxSize ?? 100);
      const cursor = page.after ? keyOf(page.after, 'after') : page.before ? keyOf(page.before, 'before') : null;
      return { size, backward, cursor };
    },
    position(backward) {
      const after = (direction === 'desc') !== backward ? sql`<` : sql`>`;
      return sql`(${keyColumns}) ${after} (${bound})`;
    },
    order(backward) {
      const sort = (direction === 'desc') !== backward ? desc : asc;
      return parts.map((part) => sort(part.column));
    },
    parameters(cursor) {
      return Object.fromEntries(
        parts.map((part) => {
          const value = cursor ? (cursor as Record<string, number | Date>)[part.name] : undefined;
          return [placeholder(part), value instanceof Date ? value.toISOString() : value];
        }),
      );
    },
  };
}

/**
 * A page from the rows a query read with LIMIT size + 1 in the plan's direction: in list order,
 * with whether more lie beyond either end.
 */
export function pageOf<R, K>(rows: R[], plan: PagePlan<K>): { rows: R[]; hasNextPage: boolean; hasPreviousPage: boolean } {
  const more = rows.length > plan.size;
  const page = rows.slice(0, plan.size);
  if (plan.backward) page.reverse();
  const fromCursor = plan.cursor !== null;
  return { rows: page, hasNextPage: plan.backward ? fromCursor : more, hasPreviousPage: plan.backward ? more : fromCursor };
}

/** The named columns of `table` (all when none are named), typed as the table for the select builder. */
export function pickColumns<T extends Table>(table: T, names: readonly string[] | undefined): T {
  if (!names) return table;
  const all = getColumns(table) as Record<string, Column>;
  return Object.fromEntries(names.filter((name) => name in all).map((name) => [name, all[name]!])) as unknown as T;
}

/**
 * Prepared list statements, one per query shape (filters given, page size, columns) and database
 * handle (a transaction's go with it), so neither drizzle nor PostgreSQL plans a hot list again
 * per request. The oldest shape goes when a handle holds too many.
 */
export class PreparedShapes<Q> {
  private readonly byHandle = new WeakMap<DbOrTx, Map<string, Q>>();
  constructor(private readonly maxShapes = 100) {}

  get(db: DbOrTx, shape: string, build: () => Q): Q {
    let shapes = this.byHandle.get(db);
    if (!shapes) this.byHandle.set(db, (shapes = new Map()));
    let query = shapes.get(shape);
    if (!query) {
      if (shapes.size >= this.maxShapes) shapes.delete(shapes.keys().next().value!);
      query = build();
      shapes.set(shape, query);
    }
    return query;
  }
}

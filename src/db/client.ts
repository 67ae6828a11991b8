import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { is, sql, type SQL } from 'drizzle-orm';
import { PgAsyncTransaction, type PgAsyncDatabase } from 'drizzle-orm/pg-core/async';
import type { PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres, PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { SpanOptions, Tracing } from '../observability/tracing.js';
import { dataDirFromTemplate } from './pglite-template.js';
import { relations, type Relations } from './relations.js';

/** A drizzle handle over PGlite or PostgreSQL: services accept either, or a transaction of one. */
export type Db = PgAsyncDatabase<PgQueryResultHKT, Relations>;
export type Tx = PgAsyncTransaction<PgQueryResultHKT, Relations>;
export type DbOrTx = Db | Tx;

/**
 * Runs `work` in a transaction, or in the caller's when it already has one: services compose
 * (mail intake → createTicket) without a savepoint round trip per call. An error still aborts
 * the whole outer transaction, so nothing is half-written.
 */
export function inTransaction<T>(db: DbOrTx, work: (tx: DbOrTx) => Promise<T>): Promise<T> {
  return isTransaction(db) ? work(db) : db.transaction(work);
}

/** Whether `db` is a transaction: what is written through it commits when its owner says so. */
export function isTransaction(db: DbOrTx): boolean {
  return is(db, PgAsyncTransaction);
}

/**
 * Whether transactions opened on `db` run side by side, each on a connection of its own: a
 * PostgreSQL pool's do; PGlite has one connection, and a transaction is one.
 */
export function runsTransactionsSideBySide(db: DbOrTx): boolean {
  return is(db, PostgresJsDatabase) && !is(db, PgAsyncTransaction);
}

/**
 * A value an app binds to its database handle when it composes its modules (the ticket-write
 * hooks, say). Services stay plain functions over a handle and still reach it, with no registry
 * in a module: every transaction opened through the handle carries the same values.
 */
export interface HandleSlot<V> {
  readonly key: symbol;
  /** Never set: it only carries the value's type. */
  readonly type?: V;
}

export function handleSlot<V>(description: string): HandleSlot<V> {
  return { key: Symbol(description) };
}

const SLOT_VALUES = Symbol('handle slot values');
type SlotValues = ReadonlyMap<symbol, unknown>;

/** A handle that behaves as `db` and carries `value` in `slot`, into its transactions too. */
export function withSlotValue<T extends DbOrTx, V>(db: T, slot: HandleSlot<V>, value: V): T {
  const values = new Map((db as { [SLOT_VALUES]?: SlotValues })[SLOT_VALUES]);
  values.set(slot.key, value);
  return carrying(db, values);
}

export function slotValue<V>(db: DbOrTx, slot: HandleSlot<V>): V | undefined {
  return (db as { [SLOT_VALUES]?: SlotValues })[SLOT_VALUES]?.get(slot.key) as V | undefined;
}

function carrying<T extends DbOrTx>(db: T, values: SlotValues): T {
  const transaction = (work: (tx: Tx) => Promise<unknown>, config?: unknown) =>
    (db as Db).transaction((tx) => work(carrying(tx, values)), config as never);
  // The handle's prototype is the original: drizzle's methods and `is(…, PgAsyncTransaction)` still apply.
  return Object.create(db, { [SLOT_VALUES]: { value: values }, transaction: { value: transaction } }) as T;
}

export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  /** Runs a statement and returns its rows, whichever driver is underneath. */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  /**
   * LISTENs on a channel; the returned function stops listening. A dropped connection is
   * re-established until it succeeds, then `onReconnect` runs: notifications sent meanwhile are
   * lost, so the caller catches up from the database. `onLost` runs when the connection drops.
   */
  listen(channel: string, onPayload: (payload: string) => void, onReconnect?: () => void, onLost?: () => void): Promise<() => Promise<void>>;
  /**
   * How an embedded database folder was opened: `template` when it was empty and filled from the
   * migrated template (its path in `template`), `fresh` when PGlite initialised it itself (the
   * template could not be made: `templateError` says why), `existing` otherwise. Unset on PostgreSQL.
   */
  opened?: { how: 'existing' | 'template' | 'fresh'; template?: string; templateError?: unknown };
  /** Calls `listener` with every statement drizzle sends through `db` until the returned function runs (tests count them). */
  watchStatements(listener: StatementListener): () => void;
  /**
   * PostgreSQL: the pool's size and its work in flight (statements and transactions started and
   * not yet settled; beyond `max` they wait for a connection), and a hook told the error of every
   * statement the database refused. Unset on PGlite (one connection in the process).
   */
  pool?: { max: number; inFlight(): number; watchErrors(listener: (err: unknown) => void): () => void };
  close(): Promise<void>;
}

/** Told each statement sent, with its parameters ('begin' and 'commit' have none). */
export type StatementListener = (sql: string, params: unknown[]) => void;

/**
 * Drizzle's logger as a hook: the statements sent, told to whoever watches (nobody, most of the
 * time). Drizzle does not log a transaction's BEGIN and COMMIT, so `watchingTransactions` tells
 * them here too: a test counting round trips sees all of them.
 */
function statementWatchers() {
  const listeners = new Set<StatementListener>();
  const tell = (sql: string, params: unknown[] = []) => listeners.forEach((listener) => listener(sql, params));
  return {
    logger: { logQuery: tell },
    watchStatements(listener: StatementListener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    watchingTransactions(db: Db): Db {
      const transaction = async (work: (tx: Tx) => Promise<unknown>, config?: unknown) => {
        tell('begin');
        try {
          return await db.transaction(work, config as never);
        } finally {
          tell('commit');
        }
      };
      return Object.create(db, { transaction: { value: transaction } }) as Db;
    },
  };
}

/** Runs a statement on any handle and returns its rows (PGlite answers {rows}, postgres.js an array). */
export async function queryRows<T = Record<string, unknown>>(db: DbOrTx, query: SQL): Promise<T[]> {
  const result: any = await db.execute(query);
  return (Array.isArray(result) ? result : result.rows) as T[];
}

/** What a database is opened with: with `tracing`, every statement sent through its `db` is a span. */
export interface OpenOptions {
  tracing?: Tracing | null;
}

export function openPostgres(url: string, options: { max?: number } & OpenOptions = {}): Database {
  const max = options.max ?? 10;
  const client = postgres(url, {
    max,
    onnotice: () => {},
    connection: { application_name: 'intake' },
    backoff: reconnectDelaySeconds,
  });
  // jit: drizzle compiles a row mapper per query shape instead of walking each column's path per row.
  const watchers = statementWatchers();
  const pool = poolWatch();
  const db = watchers.watchingTransactions(drizzlePostgres({ client: alwaysPrepared(client, pool, options.tracing ?? null), relations, jit: true, logger: watchers.logger }) as unknown as Db);
  return {
    kind: 'postgres',
    db,
    watchStatements: watchers.watchStatements,
    pool: { max, inFlight: () => pool.inFlight, watchErrors: pool.watchErrors },
    rows: (query) => queryRows(db, query),
    listen: (channel, onPayload, onReconnect, onLost) => listenPostgres(url, channel, onPayload, onReconnect, onLost),
    close: () => client.end({ timeout: 2 }),
  };
}

/**
 * Seconds before a connection that failed tries again. postgres.js's default grows to 20 s
 * after a few refused attempts, and its count is shared by the pool and reset only by a
 * success: after a failover the server then waited that long with the database long back.
 */
export function reconnectDelaySeconds(attempts: number): number {
  return Math.min(0.05 * 2 ** attempts, 0.5);
}

/** How long a lost LISTEN connection waits between attempts to come back, at most. */
const LISTEN_RETRY_MAX_MS = 2000;

/**
 * A LISTEN connection of its own. postgres.js's `listen` re-listens once when its connection
 * closes and silently gives up if the database is not back yet; this one keeps trying.
 */
async function listenPostgres(url: string, channel: string, onPayload: (payload: string) => void, onReconnect?: () => void, onLost?: () => void) {
  let stopped = false;
  let reconnecting = false;
  const statement = `listen "${channel.replace(/"/g, '""')}"`;
  // postgres.js's own listen uses this option; its types leave it out.
  const notifications = {
    onnotify: (name: string, payload: string) => {
      if (name === channel) onPayload(payload);
    },
  } as object;
  const connection = postgres(url, {
    ...notifications,
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: 'intake-listen' },
    onclose: () => {
      if (!stopped) onLost?.();
      void reconnect();
    },
  });
  async function reconnect() {
    if (stopped || reconnecting) return;
    reconnecting = true;
    for (let wait = 50; !stopped; wait = Math.min(wait * 2, LISTEN_RETRY_MAX_MS)) {
      try {
        await connection.unsafe(statement);
        reconnecting = false;
        if (!stopped) onReconnect?.();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
  await connection.unsafe(statement);
  return async () => {
    stopped = true;
    await connection.end({ timeout: 2 });
  };
}

/**
 * drizzle sends its statements unnamed, and postgres.js then spends a round trip describing each
 * one before running it, and PostgreSQL parses and plans it every time. Named (prepared)
 * statements skip all three after their first run on a connection; our SQL is parameterised, so
 * the number of distinct statements stays bounded by the code.
 */
function alwaysPrepared(sql: postgres.Sql, pool: PoolWatch, tracing: Tracing | null, inTransaction = false): postgres.Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (query: string, parameters?: any[], options?: postgres.UnsafeQueryOptions) => {
          const pending = target.unsafe(query, parameters, { ...options, prepare: true });
          // Runs it now, as the caller's await would: postgres.js sends it a tick later, so a
          // `.values()` the caller adds at once still applies. Watched before it is traced, so
          // the watch's own `then` opens no span; the caller's await does.
          pool.watch(pending, !inTransaction);
          return tracing ? tracedOnAwait(tracing, query, pending) : pending;
        };
      }
      if (property === 'begin' || property === 'savepoint') {
        return (...args: any[]) => {
          const work = args.pop() as (inner: postgres.Sql) => unknown;
          const started = (target as any)[property](...args, (inner: postgres.Sql) => work(alwaysPrepared(inner, pool, tracing, true)));
          // A transaction holds its connection from BEGIN to COMMIT; its statements count as one.
          if (property === 'begin') pool.hold(started);
          return started;
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

type PoolWatch = ReturnType<typeof poolWatch>;

/**
 * What the pool is doing, as far as the code above postgres.js sees it (its queues are private):
 * work in flight (a statement outside a transaction, or a transaction from BEGIN to its end) and
 * the statements the database refused.
 */
function poolWatch() {
  const errorListeners = new Set<(err: unknown) => void>();
  const state = {
    inFlight: 0,
    watchErrors(listener: (err: unknown) => void) {
      errorListeners.add(listener);
      return () => void errorListeners.delete(listener);
    },
    watch(pending: Promise<unknown>, holdsConnection: boolean) {
      if (holdsConnection) state.inFlight++;
      pending.then(
        () => {
          if (holdsConnection) state.inFlight--;
        },
        (err) => {
          if (holdsConnection) state.inFlight--;
          errorListeners.forEach((listener) => listener(err));
        },
      );
    },
    hold(transaction: Promise<unknown>) {
      state.inFlight++;
      const release = () => void state.inFlight--;
      transaction.then(release, release);
    },
  };
  return state;
}

/** PostgreSQL's type id of bytea. */
const BYTEA_OID = 17;

/**
 * bytea in PGlite's text protocol, through Buffer's native hex codec. PGlite's own builds an
 * array of one string per byte (about 1.3 s per MB, on the event loop: a 10 MB mail stalled the
 * whole server for seconds).
 */
export const BYTEA_CODEC = {
  serializers: {
    [BYTEA_OID]: (value: unknown) => {
      if (!(value instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
      return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
    },
  },
  parsers: { [BYTEA_OID]: (text: string) => Buffer.from(text.slice(2), 'hex') },
};
/** A statement's span: named by its first keyword (SELECT, INSERT…), with its text; parameters never go out. */
function statementSpan(statement: string): [string, SpanOptions] {
  const operation = /^\s*(\w+)/.exec(statement)?.[1]?.toUpperCase() ?? 'SQL';
  return [operation, { kind: 'client', attributes: { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.text': statement.slice(0, 2000) } }];
}

/**
 * postgres.js runs a query when it is first awaited, and drizzle adjusts it (`.values()`) before:
 * the span starts at that await, in the awaiting context, and ends when the rows are in.
 */
function tracedOnAwait<Q extends PromiseLike<unknown>>(tracing: Tracing, statement: string, query: Q): Q {
  const then = query.then;
  const [name, options] = statementSpan(statement);
  Object.defineProperty(query, 'then', {
    configurable: true,
    value: (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) =>
      tracing.span(name, options, () => new Promise((resolve, reject) => then.call(query, resolve, reject))).then(onFulfilled, onRejected),
  });
  return query;
}

/** PGlite (or one of its transactions) whose statements are spans; its methods run on the PGlite object itself. */
function tracedPglite<C extends object>(client: C, tracing: Tracing): C {
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property === 'query' || property === 'exec') {
        return (statement: string, ...rest: unknown[]) => {
          const [name, options] = statementSpan(statement);
          return tracing.span(name, options, () => value.call(target, statement, ...rest));
        };
      }
      if (property === 'transaction') return (work: (tx: object) => unknown) => value.call(target, (tx: object) => work(tracedPglite(tx, tracing)));
      return value.bind(target);
    },
  });
}

/**
 * Opens an embedded database folder. An empty or missing one is first filled from the migrated
 * template (see pglite-template.ts), unless `fromTemplate` is false: then PGlite initialises it.
 */
export async function openPglite(dataDir: string, options: { fromTemplate?: boolean } & OpenOptions = {}): Promise<Database> {
  let opened: NonNullable<Database['opened']> = { how: 'existing' };
  if (options.fromTemplate !== false) {
    try {
      const template = await dataDirFromTemplate(dataDir);
      if (template) opened = { how: 'template', template };
    } catch (templateError) {
      // A cache folder we may not write (a read-only install): PGlite initialises the folder itself.
      opened = { how: 'fresh', templateError };
    }
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const client = await PGlite.create({ dataDir, serializers: BYTEA_CODEC.serializers, parsers: BYTEA_CODEC.parsers });
  const watchers = statementWatchers();
  const traced = options.tracing ? tracedPglite(client, options.tracing) : client;
  const db = watchers.watchingTransactions(drizzlePglite({ client: traced, relations, jit: true, logger: watchers.logger }) as unknown as Db); // as openPostgres
  return {
    kind: 'pglite',
    db,
    opened,
    watchStatements: watchers.watchStatements,
    rows: (query) => queryRows(db, query),
    listen: (channel, onPayload) => client.listen(channel, onPayload),
    close: () => client.close(),
  };
}

export async function openDatabase(config: { databaseUrl?: string; dataDir: string }, options: OpenOptions = {}): Promise<Database> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, options);
  return openPglite(config.dataDir, options);
}

export async function checkDatabase(database: Database): Promise<void> {
  await database.rows(sql`select 1`);
}

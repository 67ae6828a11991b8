import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { LogLevel } from './config.js';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/**
 * The request id of the work under way: set at the edge (an HTTP request, a WebSocket operation,
 * an SMTP transaction) and carried through its async work, so every log line of that work says
 * which request it belongs to without each call passing it on.
 */
const requestIds = new AsyncLocalStorage<string>();

/** Runs `work` (and everything it starts) as part of the request `requestId`. */
export function runWithRequestId<T>(requestId: string, work: () => T): T {
  return requestIds.run(requestId, work);
}

/**
 * A new request id (a UUID). randomUUID() joins its hex pieces one by one, which V8 keeps as a
 * rope of 14 strings (about 460 bytes) until something reads it whole; ids live as long as their
 * work, a subscription's for as long as it is open, so the id is read once here and the garbage
 * collector keeps one flat string (about 60 bytes).
 */
export function newRequestId(): string {
  const id = randomUUID();
  id.charCodeAt(0);
  return id;
}

/** The request id of the work under way, if it runs for a request. */
export function currentRequestId(): string | undefined {
  return requestIds.getStore();
}

/** One JSON object per line on stdout, so log shippers need no parsing rules; `requestId` from the work under way. */
export function createLogger(level: LogLevel, base: LogFields = {}): Logger {
  const write = (at: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (rank[at] < rank[level]) return;
    const requestId = requestIds.getStore();
    const line: LogFields = { time: new Date().toISOString(), level: at, msg, ...(requestId === undefined ? null : { requestId }), ...base, ...fields };
    if (line.err instanceof Error) line.err = errorFields(line.err);
    process.stdout.write(JSON.stringify(line) + '\n');
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }),
  };
}

/**
 * An error as log fields, with its chain of causes: drizzle wraps the driver's error (the one
 * that says why, with its SQLSTATE code) as `cause`. Driver errors quote whole SQL statements,
 * so messages and stacks are cut to keep lines readable.
 */
function errorFields(err: Error, depth = 0): LogFields {
  const fields: LogFields = { message: err.message.slice(0, 1000), stack: err.stack?.slice(0, 3000) };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') fields.code = code;
  const detail = (err as { detail?: unknown }).detail;
  if (typeof detail === 'string') fields.detail = detail.slice(0, 1000);
  if (err.cause !== undefined && depth < 5) {
    fields.cause = err.cause instanceof Error ? errorFields(err.cause, depth + 1) : String(err.cause).slice(0, 1000);
  }
  return fields;
}

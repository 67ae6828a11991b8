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

/** One JSON object per line on stdout, so log shippers need no parsing rules. */
export function createLogger(level: LogLevel, base: LogFields = {}): Logger {
  const write = (at: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (rank[at] < rank[level]) return;
    const line: LogFields = { time: new Date().toISOString(), level: at, msg, ...base, ...fields };
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

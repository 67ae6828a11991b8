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
    // Driver errors quote whole SQL statements: keep lines readable.
    if (line.err instanceof Error) line.err = { message: line.err.message.slice(0, 1000), stack: line.err.stack?.slice(0, 3000) };
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

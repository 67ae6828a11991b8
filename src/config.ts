import path from 'node:path';

/** Everything Intake reads from the environment, parsed once. */
export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  host: string;
  port: number;
  smtpHost: string;
  smtpPort: number;
  mailDomain: string;
  adminToken: string | undefined;
  publicUrl: string;
  /** Largest HTTP request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Largest WebSocket message accepted, in bytes. */
  maxWsPayloadBytes: number;
  logLevel: LogLevel;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = intFrom(env, 'PORT', 4000);
  const logLevel = (env.LOG_LEVEL ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new Error(`LOG_LEVEL must be one of debug, info, warn, error, silent; got "${logLevel}"`);
  }
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.INTAKE_DATA_DIR || './.intake'),
    host: env.HOST || '127.0.0.1',
    port,
    smtpHost: env.SMTP_HOST || '127.0.0.1',
    smtpPort: intFrom(env, 'SMTP_PORT', 2525),
    mailDomain: (env.MAIL_DOMAIN || 'localhost').toLowerCase(),
    adminToken: env.INTAKE_ADMIN_TOKEN || undefined,
    publicUrl: (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, ''),
    maxBodyBytes: intFrom(env, 'MAX_BODY_BYTES', 1024 * 1024),
    maxWsPayloadBytes: intFrom(env, 'MAX_WS_PAYLOAD_BYTES', 256 * 1024),
    logLevel,
  };
}

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
  /** Largest mail accepted over SMTP, in bytes (enforced on the data stream). */
  mailMaxBytes: number;
  smtpMaxClients: number;
  /** Idle time after which an SMTP connection is closed. */
  smtpSocketTimeoutMs: number;
  smtpTlsKey: string | undefined;
  smtpTlsCert: string | undefined;
  /** More new tickets than this from one sender within the window: further mail is quarantined. */
  mailLoopMaxTickets: number;
  mailLoopWindowMinutes: number;
  adminToken: string | undefined;
  publicUrl: string;
  /** Largest HTTP request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Largest WebSocket message accepted, in bytes. */
  maxWsPayloadBytes: number;
  logLevel: LogLevel;
  formRateLimitPerHour: number;
  formRateLimitPerDay: number;
  /** How often overdue SLA deadlines are looked for. */
  slaWatchIntervalMs: number;
  /** Server processes sharing the HTTP and SMTP ports (PostgreSQL only). */
  workers: number;
  liveChat: LiveChatSettings;
}

export interface LiveChatSettings {
  maxMessageChars: number;
  /** Open sessions without a message for this long close themselves (fractions allowed). */
  idleCloseMinutes: number;
  /** Sessions in which the visitor never wrote are removed after this long (fractions allowed). */
  emptySessionMinutes: number;
  sessionsPerHourPerClient: number;
  messagesPerMinutePerSession: number;
  /** How often the idle-close and clean-up job runs. */
  sweepIntervalMs: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

function minutesFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of minutes, got "${raw}"`);
  return value;
}

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
    mailMaxBytes: intFrom(env, 'MAIL_MAX_BYTES', 25 * 1024 * 1024),
    smtpMaxClients: intFrom(env, 'SMTP_MAX_CLIENTS', 100),
    smtpSocketTimeoutMs: intFrom(env, 'SMTP_SOCKET_TIMEOUT_MS', 60_000),
    smtpTlsKey: env.SMTP_TLS_KEY || undefined,
    smtpTlsCert: env.SMTP_TLS_CERT || undefined,
    mailLoopMaxTickets: intFrom(env, 'MAIL_LOOP_MAX_TICKETS', 20),
    mailLoopWindowMinutes: intFrom(env, 'MAIL_LOOP_WINDOW_MINUTES', 120),
    adminToken: env.INTAKE_ADMIN_TOKEN || undefined,
    // Empty until the server listens when not configured: the real port is known only then.
    publicUrl: (env.PUBLIC_URL || (port === 0 ? '' : `http://localhost:${port}`)).replace(/\/+$/, ''),
    maxBodyBytes: intFrom(env, 'MAX_BODY_BYTES', 1024 * 1024),
    maxWsPayloadBytes: intFrom(env, 'MAX_WS_PAYLOAD_BYTES', 256 * 1024),
    logLevel,
    slaWatchIntervalMs: intFrom(env, 'SLA_WATCH_INTERVAL_MS', 30_000),
    formRateLimitPerHour: intFrom(env, 'FORM_RATE_LIMIT_PER_HOUR', 20),
    formRateLimitPerDay: intFrom(env, 'FORM_RATE_LIMIT_PER_DAY', 240),
    workers: Math.max(1, intFrom(env, 'INTAKE_WORKERS', 1)),
    liveChat: {
      maxMessageChars: Math.max(1, intFrom(env, 'LIVECHAT_MAX_MESSAGE_CHARS', 4000)),
      idleCloseMinutes: minutesFrom(env, 'LIVECHAT_IDLE_CLOSE_MINUTES', 30),
      emptySessionMinutes: minutesFrom(env, 'LIVECHAT_EMPTY_SESSION_MINUTES', 60),
      sessionsPerHourPerClient: intFrom(env, 'LIVECHAT_SESSIONS_PER_HOUR', 20),
      messagesPerMinutePerSession: intFrom(env, 'LIVECHAT_MESSAGES_PER_MINUTE', 30),
      sweepIntervalMs: Math.max(100, intFrom(env, 'LIVECHAT_SWEEP_INTERVAL_MS', 15_000)),
    },
  };
}

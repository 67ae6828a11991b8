import { isIP } from 'node:net';
import path from 'node:path';

/** Everything Intake reads from the environment, parsed once and never changed afterwards (frozen). */
export type Config = Readonly<ConfigValues>;

interface ConfigValues {
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
  /** Open SMTP connections allowed from one client address. */
  smtpMaxClientsPerAddress: number;
  /** Recipients accepted per message; more get 452 4.5.3 (RFC 5321 asks for at least 100). */
  smtpMaxRecipients: number;
  /** NOOP/RSET commands that still count as activity for the idle timeout, per connection. */
  smtpMaxIdleCommands: number;
  /** Longest wait for the database while answering RCPT TO; past it the sender gets 451. */
  smtpLookupTimeoutMs: number;
  /** Idle time after which an SMTP connection is closed. */
  smtpSocketTimeoutMs: number;
  smtpTlsKey: string | undefined;
  smtpTlsCert: string | undefined;
  /** More new tickets than this from one sender within the window: further mail is quarantined. */
  mailLoopMaxTickets: number;
  mailLoopWindowMinutes: number;
  adminToken: string | undefined;
  /** How long a token lookup is reused: a token revoked on another instance stops within this time (at most 30 s). */
  tokenCacheMs: number;
  /** How often the tokens' lastUsedAt is written, one UPDATE for all tokens used meanwhile. */
  tokenUsageFlushMs: number;
  /**
   * PUBLIC_URL without its trailing slash; empty when not set and PORT is 0: the app then derives
   * it once it listens (App.publicUrl), and hands that value to whoever builds links.
   */
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
  /**
   * Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks): the client
   * address of a request is the right-most hop not in this list. Empty: the socket's peer.
   */
  trustedProxies: readonly string[];
  /** Operations open at once on one graphql-ws socket; past it a subscribe is answered with an error. */
  wsMaxSubscriptionsPerSocket: number;
  /** Open graphql-ws sockets per client address (per server process); past it the upgrade gets 429. */
  wsMaxSocketsPerClient: number;
  /** How long a socket without a valid token may stay open unless it holds a public subscription. */
  wsAnonymousGraceMs: number;
  /** Every socket is pinged this often and dropped when it has not answered the previous ping. */
  wsPingIntervalMs: number;
  /**
   * Whether anonymous callers may introspect the schema and see "Did you mean" suggestions
   * (GRAPHQL_INTROSPECTION: on, off, or auto = on unless NODE_ENV is production). Callers with a
   * token always may.
   */
  anonymousIntrospection: boolean;
  /** Origins whose browser requests may carry credentials (CORS_ORIGINS, comma-separated). */
  corsOrigins: readonly string[];
  /**
   * Request header in which a trusted reverse proxy or CDN puts the visitor's country
   * (TRUSTED_COUNTRY_HEADER, e.g. CF-IPCountry), lower case; null: the country comes from the
   * client address through the offline table alone.
   */
  trustedCountryHeader: string | null;
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
  /** How often an instance refreshes the presence of its operators' and visitors' chat streams. */
  presenceHeartbeatMs: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

function trustedCountryHeaderFrom(env: NodeJS.ProcessEnv): string | null {
  const raw = env.TRUSTED_COUNTRY_HEADER?.trim() ?? '';
  if (raw === '') return null;
  if (!/^[A-Za-z0-9-]{1,100}$/.test(raw)) throw new Error(`TRUSTED_COUNTRY_HEADER must be a header name such as CF-IPCountry, got "${raw}"`);
  return raw.toLowerCase();
}

function minutesFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of minutes, got "${raw}"`);
  return value;
}

/**
 * Presence rows go stale after 45 s: a heartbeat of at most 15 s gives three chances. Waiting
 * visitors count as gone when not seen for LIVECHAT_IDLE_CLOSE_MINUTES, so that must be longer.
 */
function presenceHeartbeatFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.LIVECHAT_PRESENCE_HEARTBEAT_MS;
  const value = raw === undefined || raw === '' ? 15_000 : Number(raw);
  if (!Number.isInteger(value) || value < 100 || value > 15_000) throw new Error(`LIVECHAT_PRESENCE_HEARTBEAT_MS must be a whole number of milliseconds from 100 to 15000, got "${raw}"`);
  const idleMs = minutesFrom(env, 'LIVECHAT_IDLE_CLOSE_MINUTES', 30) * 60_000;
  if (idleMs <= 2 * value) throw new Error(`LIVECHAT_IDLE_CLOSE_MINUTES must be longer than two presence heartbeats (LIVECHAT_PRESENCE_HEARTBEAT_MS=${value}), or waiting visitors who are still there would be closed`);
  return value;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return value;
}

/** A comma-separated list of IP addresses and CIDR blocks (`10.0.0.0/8`, `::1`, `fd00::/8`). */
function parseTrustedProxies(raw: string): string[] {
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address!);
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (!family || !bitsOk || extra !== undefined) throw new Error(`TRUSTED_PROXIES must list IP addresses or CIDR blocks separated by commas; "${entry}" is neither`);
  }
  return entries;
}

/** "auto" is production-safe: NODE_ENV=production hides the schema from anonymous callers. */
function introspectionFrom(env: NodeJS.ProcessEnv): boolean {
  const setting = env.GRAPHQL_INTROSPECTION || 'auto';
  if (setting === 'on') return true;
  if (setting === 'off') return false;
  if (setting === 'auto') return env.NODE_ENV !== 'production';
  throw new Error(`GRAPHQL_INTROSPECTION must be one of auto, on, off; got "${setting}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = readConfig(env);
  Object.freeze(config.trustedProxies);
  Object.freeze(config.corsOrigins);
  return Object.freeze(config);
}

function readConfig(env: NodeJS.ProcessEnv): ConfigValues {
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
    smtpMaxClientsPerAddress: intFrom(env, 'SMTP_MAX_CLIENTS_PER_ADDRESS', 10),
    smtpMaxRecipients: Math.max(1, intFrom(env, 'SMTP_MAX_RECIPIENTS', 100)),
    smtpMaxIdleCommands: intFrom(env, 'SMTP_MAX_IDLE_COMMANDS', 5),
    smtpLookupTimeoutMs: Math.max(1, intFrom(env, 'SMTP_LOOKUP_TIMEOUT_MS', 5000)),
    smtpSocketTimeoutMs: intFrom(env, 'SMTP_SOCKET_TIMEOUT_MS', 60_000),
    smtpTlsKey: env.SMTP_TLS_KEY || undefined,
    smtpTlsCert: env.SMTP_TLS_CERT || undefined,
    mailLoopMaxTickets: intFrom(env, 'MAIL_LOOP_MAX_TICKETS', 20),
    mailLoopWindowMinutes: intFrom(env, 'MAIL_LOOP_WINDOW_MINUTES', 120),
    adminToken: env.INTAKE_ADMIN_TOKEN || undefined,
    tokenCacheMs: Math.min(intFrom(env, 'TOKEN_CACHE_MS', 30_000), 30_000),
    tokenUsageFlushMs: Math.max(intFrom(env, 'TOKEN_USAGE_FLUSH_MS', 60_000), 100),
    // Empty until the server listens when not configured: the real port is known only then.
    publicUrl: (env.PUBLIC_URL || (port === 0 ? '' : `http://localhost:${port}`)).replace(/\/+$/, ''),
    maxBodyBytes: intFrom(env, 'MAX_BODY_BYTES', 1024 * 1024),
    maxWsPayloadBytes: intFrom(env, 'MAX_WS_PAYLOAD_BYTES', 256 * 1024),
    logLevel,
    slaWatchIntervalMs: intFrom(env, 'SLA_WATCH_INTERVAL_MS', 30_000),
    formRateLimitPerHour: intFrom(env, 'FORM_RATE_LIMIT_PER_HOUR', 20),
    formRateLimitPerDay: intFrom(env, 'FORM_RATE_LIMIT_PER_DAY', 240),
    workers: Math.max(1, intFrom(env, 'INTAKE_WORKERS', 1)),
    trustedProxies: parseTrustedProxies(env.TRUSTED_PROXIES ?? ''),
    wsMaxSubscriptionsPerSocket: intFrom(env, 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET', 100),
    wsMaxSocketsPerClient: intFrom(env, 'WS_MAX_SOCKETS_PER_CLIENT', 20),
    wsAnonymousGraceMs: intFrom(env, 'WS_ANONYMOUS_GRACE_MS', 10_000),
    wsPingIntervalMs: Math.max(10, intFrom(env, 'WS_PING_INTERVAL_MS', 20_000)),
    anonymousIntrospection: introspectionFrom(env),
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim().replace(/\/+$/, ''))
      .filter((origin) => origin !== ''),
    trustedCountryHeader: trustedCountryHeaderFrom(env),
    liveChat: {
      maxMessageChars: Math.max(1, intFrom(env, 'LIVECHAT_MAX_MESSAGE_CHARS', 4000)),
      idleCloseMinutes: minutesFrom(env, 'LIVECHAT_IDLE_CLOSE_MINUTES', 30),
      emptySessionMinutes: minutesFrom(env, 'LIVECHAT_EMPTY_SESSION_MINUTES', 60),
      sessionsPerHourPerClient: intFrom(env, 'LIVECHAT_SESSIONS_PER_HOUR', 20),
      messagesPerMinutePerSession: intFrom(env, 'LIVECHAT_MESSAGES_PER_MINUTE', 30),
      sweepIntervalMs: Math.max(100, intFrom(env, 'LIVECHAT_SWEEP_INTERVAL_MS', 15_000)),
      presenceHeartbeatMs: presenceHeartbeatFrom(env),
    },
  };
}

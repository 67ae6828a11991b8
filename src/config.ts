import { readFileSync } from 'node:fs';
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
  /** Addresses and CIDR blocks of relays (a Postfix or Exim in front) exempt from smtpMaxClientsPerAddress. */
  smtpTrustedRelays: readonly string[];
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
  /** How often mail quarantined because it could not be stored (not for its content) is stored again. */
  mailRetryIntervalMs: number;
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
  /** Longest time a client may take to send an HTTP request's headers; past it the server answers 408 and closes. */
  httpHeadersTimeoutMs: number;
  /** Longest time a client may take to send a whole HTTP request, body included (responses such as SSE streams may last longer). */
  httpRequestTimeoutMs: number;
  /** Largest WebSocket message accepted, in bytes. */
  maxWsPayloadBytes: number;
  /** Largest GraphQL reply (one result, or one event of a subscription), in bytes of JSON; larger ones are refused. */
  maxResponseBytes: number;
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
  /** Open SSE streams per client address (per server process); past it a subscription gets 429. */
  sseMaxStreamsPerClient: number;
  /** Open subscriptions of one token, SSE streams and graphql-ws subscriptions together (per server process). */
  maxSubscriptionsPerToken: number;
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
  /** OpenTelemetry traces over OTLP/HTTP; null (the default) when no endpoint is set: nothing is loaded or sent. */
  tracing: TracingSettings | null;
  metrics: MetricsSettings;
  /** /readyz is unready while outbound mail due to be sent has waited longer than this. */
  readyMaxOutboxAgeMinutes: number;
  outbound: OutboundSettings;
  /** Key of the signatures in our plus-addresses (MAIL_SIGNING_SECRET); unset: a random key kept in the database. */
  mailSigningSecret: string | undefined;
  /** Acknowledgements of new tickets one sender gets within an hour (ACK_MAX_PER_SENDER_PER_HOUR): an auto-responder cannot loop. */
  ackMaxPerSenderPerHour: number;
  /** DKIM signing of outbound mail (DKIM_PRIVATE_KEY_FILE and DKIM_SELECTOR, read at start); the domain is the From alias's. Null: unsigned. */
  dkim: DkimSettings | null;
}

export interface DkimSettings {
  selector: string;
  /** The PEM private key, read from DKIM_PRIVATE_KEY_FILE at start. */
  privateKey: string;
}

export interface OutboundSettings {
  /** SMTP_RELAY_URL: smtp://user:pass@host:587 (STARTTLS when offered) or smtps:// (implicit TLS); null: mail is HELD. */
  relayUrl: string | null;
  /** The first retry delay; the whole schedule (5 s, 30 s, 2 min, 10 min, 30 min, hourly at 5) scales with it. */
  retryBaseSeconds: number;
  /** Temporary failures are retried for at least this long after the mail was queued. */
  retryHours: number;
  /** Longest wait for the relay's connection and its greeting. */
  connectTimeoutMs: number;
  /** Longest silence of the relay within an SMTP transaction. */
  socketTimeoutMs: number;
  /** How long a claim on a mail lasts unless its sender renews it (every third of it, while sending); past it the sender is presumed dead and another takes the mail. */
  leaseMs: number;
  /** How often a sender looks for due mail without being woken by a notification. */
  pollIntervalMs: number;
  /** SMTP transactions one instance runs at once. */
  concurrency: number;
}

export interface TracingSettings {
  /** Where spans are sent: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  url: string;
  /** OTEL_SERVICE_NAME, `intake` by default. */
  serviceName: string;
  /** OTEL_BSP_SCHEDULE_DELAY: how long finished spans wait to be sent together. */
  exportDelayMs: number;
}

/** The Prometheus endpoint: on a listener of its own, never on the public port by accident. */
export interface MetricsSettings {
  /** METRICS_PORT; null (unset): no metrics are kept or served. */
  port: number | null;
  host: string;
  /** Operation names kept as labels: the first this many seen; later ones count as `other`. */
  maxOperations: number;
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
  /** A visitor token works while its session is open and this long after it closed (fractions allowed). */
  visitorTokenDays: number;
  /** Open or waiting sessions one client address (an IPv6 /64) may hold at once. */
  openSessionsPerAddress: number;
  /** How often an instance refreshes the presence of its operators' and visitors' chat streams. */
  presenceHeartbeatMs: number;
  /** A chatbot's FREE_INPUT_MULTI answer is finished after this long without a new message. */
  chatbotPauseMs: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

function trustedCountryHeaderFrom(env: NodeJS.ProcessEnv): string | null {
  const raw = env.TRUSTED_COUNTRY_HEADER?.trim() ?? '';
  if (raw === '') return null;
  if (!/^[A-Za-z0-9-]{1,100}$/.test(raw)) throw new Error(`TRUSTED_COUNTRY_HEADER must be a header name such as CF-IPCountry, got "${raw}"`);
  return raw.toLowerCase();
}

/** What a numeric setting holds, which decides what values make sense for it. */
export type NumericSettingKind = 'port' | 'count' | 'bytes' | 'milliseconds' | 'seconds' | 'minutes' | 'hours' | 'days';

/** One numeric setting as readConfig reads it: a test walks every one of them. */
export interface NumericSetting {
  name: string;
  kind: NumericSettingKind;
  /** The smallest value accepted; with fractions, values must be above it. */
  min: number;
  max: number;
  /** Whether a fraction such as 0.5 is accepted (else whole numbers only). */
  fractions: boolean;
}

/** Settings that make no sense, every one of them: the server stops at start and names each. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Intake cannot start: ${problems.length === 1 ? 'a setting makes' : 'settings make'} no sense.\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The longest delay a Node timer takes (a longer one fires at once), and PostgreSQL's int4. */
const MAX_INT32 = 2 ** 31 - 1;
/** A hundred years: longer windows overflow PostgreSQL's intervals. */
const MAX_MINUTES = 100 * 365 * 24 * 60;
const MAX_BY_KIND: Record<NumericSettingKind, number> = {
  port: 65_535,
  count: MAX_INT32,
  bytes: Number.MAX_SAFE_INTEGER,
  milliseconds: MAX_INT32,
  seconds: MAX_MINUTES * 60,
  minutes: MAX_MINUTES,
  hours: MAX_MINUTES / 60,
  days: MAX_MINUTES / (24 * 60),
};

/** What a setting of this kind accepts, in words: the message names the variable and this. */
export function acceptedValues(setting: NumericSetting): string {
  if (setting.kind === 'port') return 'a port number from 0 to 65535 (0: any free port)';
  if (setting.fractions) return `a positive number of ${setting.kind} up to ${setting.max} (fractions allowed, e.g. 0.5)`;
  const unit = setting.kind === 'count' ? '' : ` of ${setting.kind}`;
  const range = setting.max === Number.MAX_SAFE_INTEGER ? `at least ${setting.min}` : `from ${setting.min} to ${setting.max}`;
  return `a whole number${unit}, ${range}`;
}

/**
 * Reads the environment, collecting every setting that makes no sense instead of stopping at the
 * first. Every limit, size, interval and timeout is positive: none uses 0 to mean "off" (where off
 * is wanted, a setting of its own says so). Only ports take 0, which asks for any free port.
 */
function settingsReader(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const numeric: NumericSetting[] = [];
  function number(name: string, fallback: number, kind: NumericSettingKind, options: { min?: number; max?: number; fractions?: boolean } = {}): number {
    const setting: NumericSetting = {
      name,
      kind,
      // A fraction only has to be above 0.
      min: options.min ?? (kind === 'port' || options.fractions ? 0 : 1),
      max: options.max ?? MAX_BY_KIND[kind],
      fractions: options.fractions ?? false,
    };
    numeric.push(setting);
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    // Digits only: no sign, exponent, hex or blanks, which Number() would take.
    const spelled = setting.fractions ? /^\d+(\.\d+)?$/.test(raw) : /^\d+$/.test(raw);
    const inRange = setting.fractions ? value > 0 && value <= setting.max : Number.isSafeInteger(value) && value >= setting.min && value <= setting.max;
    if (spelled && inRange) return value;
    problems.push(`${name} must be ${acceptedValues(setting)}; got "${raw}"`);
    return fallback;
  }
  return {
    problems,
    numeric,
    port: (name: string, fallback: number) => number(name, fallback, 'port'),
    count: (name: string, fallback: number) => number(name, fallback, 'count'),
    bytes: (name: string, fallback: number) => number(name, fallback, 'bytes'),
    milliseconds: (name: string, fallback: number, bounds: { min?: number; max?: number } = {}) => number(name, fallback, 'milliseconds', bounds),
    seconds: (name: string, fallback: number, options: { fractions?: boolean } = {}) => number(name, fallback, 'seconds', options),
    minutes: (name: string, fallback: number, options: { fractions?: boolean } = {}) => number(name, fallback, 'minutes', options),
    hours: (name: string, fallback: number, options: { fractions?: boolean } = {}) => number(name, fallback, 'hours', options),
    days: (name: string, fallback: number, options: { fractions?: boolean } = {}) => number(name, fallback, 'days', options),
    /** Runs a parser of a non-numeric setting, keeping its complaint. */
    parsed<T>(parse: () => T, fallback: T): T {
      try {
        return parse();
      } catch (err) {
        problems.push((err as Error).message);
        return fallback;
      }
    },
  };
}

/** A comma-separated list of IP addresses and CIDR blocks (`10.0.0.0/8`, `::1`, `fd00::/8`). */
/** A comma-separated list of IP addresses and CIDR blocks (TRUSTED_PROXIES, SMTP_TRUSTED_RELAYS). */
function parseAddressList(variable: string, raw: string): string[] {
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address!);
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (!family || !bitsOk || extra !== undefined) throw new Error(`${variable} must list IP addresses or CIDR blocks separated by commas; "${entry}" is neither`);
  }
  return entries;
}

/**
 * The OTLP/HTTP address of traces, as OpenTelemetry's own variables name it: the traces endpoint
 * as it is, or the base endpoint with the traces path. Unset: null, tracing off.
 */
function tracesUrlFrom(env: NodeJS.ProcessEnv): string | null {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ?? '';
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ?? '';
  const [variable, url] = traces !== '' ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces] : ['OTEL_EXPORTER_OTLP_ENDPOINT', base === '' ? '' : `${base.replace(/\/+$/, '')}/v1/traces`];
  if (url === '') return null;
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new Error(`${variable} must be an http:// or https:// address of an OTLP collector, such as http://127.0.0.1:4318`);
  return url;
}

function tracingFrom(env: NodeJS.ProcessEnv, read: ReturnType<typeof settingsReader>): TracingSettings | null {
  const exportDelayMs = read.milliseconds('OTEL_BSP_SCHEDULE_DELAY', 5000, { min: 10 });
  const url = read.parsed(() => tracesUrlFrom(env), null);
  return url === null ? null : Object.freeze({ url, serviceName: env.OTEL_SERVICE_NAME?.trim() || 'intake', exportDelayMs });
}

/** SMTP_RELAY_URL: smtp:// or smtps://, with a host; user and password optional. */
function relayUrlFrom(env: NodeJS.ProcessEnv): string | null {
  const raw = env.SMTP_RELAY_URL?.trim() ?? '';
  if (raw === '') return null;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '') {
    throw new Error('SMTP_RELAY_URL must be smtp://user:password@host:587 (STARTTLS when offered) or smtps://user:password@host:465 (implicit TLS)');
  }
  return raw;
}

/** DKIM_PRIVATE_KEY_FILE and DKIM_SELECTOR: both or neither; the key is read once, here. */
function dkimFrom(env: NodeJS.ProcessEnv): DkimSettings | null {
  const file = env.DKIM_PRIVATE_KEY_FILE?.trim() ?? '';
  const selector = env.DKIM_SELECTOR?.trim() ?? '';
  if (file === '' && selector === '') return null;
  if (file === '' || selector === '') throw new Error('DKIM_PRIVATE_KEY_FILE and DKIM_SELECTOR are set together (or neither): mail is DKIM-signed only with both');
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(selector)) throw new Error('DKIM_SELECTOR must be a DNS label such as "intake" (the record is <selector>._domainkey.<domain>)');
  let privateKey: string;
  try {
    privateKey = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`DKIM_PRIVATE_KEY_FILE cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(privateKey)) throw new Error('DKIM_PRIVATE_KEY_FILE must hold a PEM private key (-----BEGIN PRIVATE KEY-----)');
  return { selector, privateKey };
}

/** "auto" is production-safe: NODE_ENV=production hides the schema from anonymous callers. */
function introspectionFrom(env: NodeJS.ProcessEnv): boolean {
  const setting = env.GRAPHQL_INTROSPECTION || 'auto';
  if (setting === 'on') return true;
  if (setting === 'off') return false;
  if (setting === 'auto') return env.NODE_ENV !== 'production';
  throw new Error(`GRAPHQL_INTROSPECTION must be one of auto, on, off; got "${setting}"`);
}

/** Reads the configuration; settings that make no sense throw one ConfigError naming each of them. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const read = settingsReader(env);
  const config = readConfig(env, read);
  // Waiting visitors count as gone when not seen for the idle period: it must span a heartbeat.
  if (config.liveChat.idleCloseMinutes * 60_000 <= config.liveChat.presenceHeartbeatMs) {
    read.problems.push(
      `LIVECHAT_IDLE_CLOSE_MINUTES must be longer than a presence heartbeat (LIVECHAT_PRESENCE_HEARTBEAT_MS=${config.liveChat.presenceHeartbeatMs}), or waiting visitors who are still there would be closed`,
    );
  }
  if (read.problems.length) throw new ConfigError(read.problems);
  Object.freeze(config.trustedProxies);
  Object.freeze(config.smtpTrustedRelays);
  Object.freeze(config.corsOrigins);
  Object.freeze(config.liveChat);
  Object.freeze(config.metrics);
  Object.freeze(config.outbound);
  if (config.dkim) Object.freeze(config.dkim);
  return Object.freeze(config);
}

/** Every numeric setting, with the values it accepts. */
export function numericSettings(): readonly NumericSetting[] {
  const read = settingsReader({});
  readConfig({}, read);
  return read.numeric;
}

function readConfig(env: NodeJS.ProcessEnv, read: ReturnType<typeof settingsReader>): ConfigValues {
  const port = read.port('PORT', 4000);
  const metricsPort = read.port('METRICS_PORT', 9464);
  const logLevel = read.parsed(() => {
    const level = (env.LOG_LEVEL || 'info') as LogLevel;
    if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level)) throw new Error(`LOG_LEVEL must be one of debug, info, warn, error, silent; got "${level}"`);
    return level;
  }, 'info');
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.INTAKE_DATA_DIR || './.intake'),
    host: env.HOST || '127.0.0.1',
    port,
    smtpHost: env.SMTP_HOST || '127.0.0.1',
    smtpPort: read.port('SMTP_PORT', 2525),
    mailDomain: (env.MAIL_DOMAIN || 'localhost').toLowerCase(),
    mailMaxBytes: read.bytes('MAIL_MAX_BYTES', 25 * 1024 * 1024),
    smtpMaxClients: read.count('SMTP_MAX_CLIENTS', 100),
    smtpMaxClientsPerAddress: read.count('SMTP_MAX_CLIENTS_PER_ADDRESS', 10),
    smtpTrustedRelays: read.parsed(() => parseAddressList('SMTP_TRUSTED_RELAYS', env.SMTP_TRUSTED_RELAYS ?? ''), []),
    smtpMaxRecipients: read.count('SMTP_MAX_RECIPIENTS', 100),
    smtpMaxIdleCommands: read.count('SMTP_MAX_IDLE_COMMANDS', 5),
    smtpLookupTimeoutMs: read.milliseconds('SMTP_LOOKUP_TIMEOUT_MS', 5000),
    smtpSocketTimeoutMs: read.milliseconds('SMTP_SOCKET_TIMEOUT_MS', 60_000),
    smtpTlsKey: env.SMTP_TLS_KEY || undefined,
    smtpTlsCert: env.SMTP_TLS_CERT || undefined,
    mailLoopMaxTickets: read.count('MAIL_LOOP_MAX_TICKETS', 20),
    mailLoopWindowMinutes: read.minutes('MAIL_LOOP_WINDOW_MINUTES', 120),
    mailRetryIntervalMs: read.milliseconds('MAIL_RETRY_INTERVAL_MS', 60_000, { min: 100 }),
    adminToken: env.INTAKE_ADMIN_TOKEN || undefined,
    tokenCacheMs: read.milliseconds('TOKEN_CACHE_MS', 30_000, { max: 30_000 }),
    tokenUsageFlushMs: read.milliseconds('TOKEN_USAGE_FLUSH_MS', 60_000, { min: 100 }),
    // Empty until the server listens when not configured: the real port is known only then.
    publicUrl: (env.PUBLIC_URL || (port === 0 ? '' : `http://localhost:${port}`)).replace(/\/+$/, ''),
    maxBodyBytes: read.bytes('MAX_BODY_BYTES', 1024 * 1024),
    httpHeadersTimeoutMs: read.milliseconds('HTTP_HEADERS_TIMEOUT_MS', 30_000, { min: 100 }),
    httpRequestTimeoutMs: read.milliseconds('HTTP_REQUEST_TIMEOUT_MS', 60_000, { min: 100 }),
    maxWsPayloadBytes: read.bytes('MAX_WS_PAYLOAD_BYTES', 256 * 1024),
    maxResponseBytes: read.bytes('MAX_RESPONSE_BYTES', 4 * 1024 * 1024),
    logLevel,
    slaWatchIntervalMs: read.milliseconds('SLA_WATCH_INTERVAL_MS', 30_000),
    formRateLimitPerHour: read.count('FORM_RATE_LIMIT_PER_HOUR', 20),
    formRateLimitPerDay: read.count('FORM_RATE_LIMIT_PER_DAY', 240),
    workers: read.count('INTAKE_WORKERS', 1),
    trustedProxies: read.parsed(() => parseAddressList('TRUSTED_PROXIES', env.TRUSTED_PROXIES ?? ''), []),
    wsMaxSubscriptionsPerSocket: read.count('WS_MAX_SUBSCRIPTIONS_PER_SOCKET', 100),
    wsMaxSocketsPerClient: read.count('WS_MAX_SOCKETS_PER_CLIENT', 20),
    wsAnonymousGraceMs: read.milliseconds('WS_ANONYMOUS_GRACE_MS', 10_000),
    wsPingIntervalMs: read.milliseconds('WS_PING_INTERVAL_MS', 20_000, { min: 10 }),
    sseMaxStreamsPerClient: read.count('SSE_MAX_STREAMS_PER_CLIENT', 20),
    maxSubscriptionsPerToken: read.count('MAX_SUBSCRIPTIONS_PER_TOKEN', 100),
    anonymousIntrospection: read.parsed(() => introspectionFrom(env), false),
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim().replace(/\/+$/, ''))
      .filter((origin) => origin !== ''),
    trustedCountryHeader: read.parsed(() => trustedCountryHeaderFrom(env), null),
    metrics: {
      port: env.METRICS_PORT ? metricsPort : null,
      host: env.METRICS_HOST || '127.0.0.1',
      maxOperations: read.count('METRICS_MAX_OPERATIONS', 100),
    },
    readyMaxOutboxAgeMinutes: read.minutes('READY_MAX_OUTBOX_AGE_MINUTES', 60, { fractions: true }),
    liveChat: {
      maxMessageChars: read.count('LIVECHAT_MAX_MESSAGE_CHARS', 4000),
      idleCloseMinutes: read.minutes('LIVECHAT_IDLE_CLOSE_MINUTES', 30, { fractions: true }),
      emptySessionMinutes: read.minutes('LIVECHAT_EMPTY_SESSION_MINUTES', 60, { fractions: true }),
      sessionsPerHourPerClient: read.count('LIVECHAT_SESSIONS_PER_HOUR', 20),
      messagesPerMinutePerSession: read.count('LIVECHAT_MESSAGES_PER_MINUTE', 30),
      sweepIntervalMs: read.milliseconds('LIVECHAT_SWEEP_INTERVAL_MS', 15_000, { min: 100 }),
      visitorTokenDays: read.days('LIVECHAT_VISITOR_TOKEN_DAYS', 30, { fractions: true }),
      openSessionsPerAddress: read.count('LIVECHAT_OPEN_SESSIONS_PER_ADDRESS', 3),
      // Presence goes stale after 45 s: a heartbeat of at most 15 s gives it three chances.
      presenceHeartbeatMs: read.milliseconds('LIVECHAT_PRESENCE_HEARTBEAT_MS', 15_000, { min: 100, max: 15_000 }),
      chatbotPauseMs: read.milliseconds('LIVECHAT_CHATBOT_PAUSE_MS', 5_000, { min: 100 }),
    },
    tracing: tracingFrom(env, read),
    outbound: {
      relayUrl: read.parsed(() => relayUrlFrom(env), null),
      retryBaseSeconds: read.seconds('OUTBOUND_RETRY_BASE_SECONDS', 5, { fractions: true }),
      retryHours: read.hours('OUTBOUND_RETRY_HOURS', 24, { fractions: true }),
      connectTimeoutMs: read.milliseconds('OUTBOUND_CONNECT_TIMEOUT_MS', 10_000, { min: 100 }),
      socketTimeoutMs: read.milliseconds('OUTBOUND_SOCKET_TIMEOUT_MS', 60_000, { min: 100 }),
      leaseMs: read.milliseconds('OUTBOUND_LEASE_MS', 60_000, { min: 100 }),
      pollIntervalMs: read.milliseconds('OUTBOUND_POLL_INTERVAL_MS', 10_000, { min: 10 }),
      concurrency: read.count('OUTBOUND_CONCURRENCY', 8),
    },
    mailSigningSecret: env.MAIL_SIGNING_SECRET || undefined,
    ackMaxPerSenderPerHour: read.count('ACK_MAX_PER_SENDER_PER_HOUR', 3),
    dkim: read.parsed(() => dkimFrom(env), null),
  };
}

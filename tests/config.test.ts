import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptedValues, ConfigError, loadConfig, numericSettings, type NumericSetting } from '../src/config.js';
import { root, tmpRoot } from './support/databases.js';
import { npmStartArgs } from './support/npm-start.js';

const SETTINGS = numericSettings();

/** Values no numeric setting of this kind takes: zero, negative, not a number, a fraction, too large. */
function badValues(setting: NumericSetting): string[] {
  return [
    ...(setting.kind === 'port' ? [] : ['0']),
    '-1',
    'abc',
    '12abc',
    '1e3',
    ' 5',
    ...(setting.fractions ? [] : ['1.5']),
    String(setting.max + 1),
    ...(setting.min > 1 ? [String(setting.min - 1)] : []),
  ];
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

describe('settings that make no sense', () => {
  it('are read through one reader: every setting config.ts reads is numeric and checked, or one of the known others', () => {
    const source = readFileSync(path.join(root, 'src/config.ts'), 'utf8');
    const read = new Set([...source.matchAll(/(?:env\.|['"])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/g)].map((m) => m[1]!));
    const other = ['DATABASE_URL', 'INTAKE_DATA_DIR', 'SMTP_HOST', 'MAIL_DOMAIN', 'SMTP_TLS_KEY', 'SMTP_TLS_CERT', 'INTAKE_ADMIN_TOKEN', 'PUBLIC_URL', 'LOG_LEVEL', 'TRUSTED_PROXIES', 'SMTP_TRUSTED_RELAYS', 'GRAPHQL_INTROSPECTION', 'NODE_ENV', 'CORS_ORIGINS', 'TRUSTED_COUNTRY_HEADER', 'SMTP_RELAY_URL', 'MAIL_SIGNING_SECRET', 'DKIM_PRIVATE_KEY_FILE', 'DKIM_SELECTOR', 'METRICS_HOST'];
    other.push('OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SERVICE_NAME');
    const numeric = SETTINGS.map((s) => s.name);
    expect(numeric.length).toBeGreaterThan(25);
    expect([...read].filter((name) => !other.includes(name) && name !== 'PORT').sort()).toEqual(numeric.filter((n) => n !== 'PORT').sort());
    // Every numeric setting is positive except ports (0 asks for any free port); none means "off" at 0.
    expect(SETTINGS.filter((s) => s.kind !== 'port' && !(s.min >= 1 || s.fractions)).map((s) => s.name)).toEqual([]);
  });

  it.each(SETTINGS.map((s) => [s.name, s] as const))('%s refuses zero, negatives, words, fractions where not allowed and values out of range, naming itself', (name, setting) => {
    for (const value of badValues(setting)) {
      expect(problemsOf({ [name]: value }), `${name}=${JSON.stringify(value)}`).toEqual([`${name} must be ${acceptedValues(setting)}; got "${value}"`]);
    }
    // Its bounds and, for fractions, a fraction are taken.
    const good = [String(setting.max), setting.fractions ? '0.5' : String(setting.min)];
    for (const value of good) expect(problemsOf({ [name]: value }), `${name}=${value}`).toEqual([]);
  });

  it('stop `npm start` before it opens anything, with a message naming every bad variable and no stack trace', async () => {
    const dataDir = path.join(tmpRoot, 'config-test-never-created');
    const cases: Array<[string, (s: NumericSetting) => boolean]> = [
      ['0', (s) => s.kind !== 'port'],
      ['-5', () => true],
      ['lots', () => true],
      ['2.5', (s) => !s.fractions],
    ];
    for (const [value, applies] of cases) {
      const named = SETTINGS.filter(applies).map((s) => s.name);
      const env = { ...process.env, DATABASE_URL: '', INTAKE_DATA_DIR: dataDir, ...Object.fromEntries(named.map((name) => [name, value])) };
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, npmStartArgs(), { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(/^Intake cannot start: settings make no sense\./);
      for (const name of named) expect(stderr).toContain(`  ${name} must be `);
      expect(stderr).not.toMatch(/^\s+at /m);
      expect(existsSync(dataDir)).toBe(false);
    }
  }, 120_000);

  it('refuse a live chat idle period no longer than a presence heartbeat (waiting visitors still there would be closed)', () => {
    expect(problemsOf({ LIVECHAT_IDLE_CLOSE_MINUTES: '0.25', LIVECHAT_PRESENCE_HEARTBEAT_MS: '15000' })).toEqual([
      expect.stringMatching(/^LIVECHAT_IDLE_CLOSE_MINUTES must be longer than a presence heartbeat \(LIVECHAT_PRESENCE_HEARTBEAT_MS=15000\)/),
    ]);
    expect(problemsOf({ LIVECHAT_IDLE_CLOSE_MINUTES: '0.25', LIVECHAT_PRESENCE_HEARTBEAT_MS: '14000' })).toEqual([]);
  });

  it('leave the defaults alone when nothing is set', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.smtpMaxRecipients).toBe(100);
    expect(config.liveChat.idleCloseMinutes).toBe(30);
    expect(config.tokenCacheMs).toBe(30_000);
  });
});

describe('tracing (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('is off unless an endpoint is set; the base endpoint gets /v1/traces, the traces endpoint is taken as it is; anything but http(s) stops the start naming it', () => {
    expect(loadConfig({}).tracing).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({ url: 'http://collector:4318/v1/traces', serviceName: 'intake', exportDelayMs: 5000 });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp', OTEL_SERVICE_NAME: 'intake-eu' }).tracing).toEqual({
      url: 'https://traces.example/otlp',
      serviceName: 'intake-eu',
      exportDelayMs: 5000,
    });
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toEqual([expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT must be an http/)]);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' })).toEqual([expect.stringMatching(/^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http/)]);
  });
});

describe('TRUSTED_COUNTRY_HEADER', () => {
  it('is a header name, kept in lower case; unset by default; anything else stops the start naming it', () => {
    expect(loadConfig({}).trustedCountryHeader).toBeNull();
    expect(loadConfig({ TRUSTED_COUNTRY_HEADER: ' CF-IPCountry ' }).trustedCountryHeader).toBe('cf-ipcountry');
    expect(() => loadConfig({ TRUSTED_COUNTRY_HEADER: 'CF IPCountry: yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUSTED_COUNTRY_HEADER: 'CF IPCountry: yes' })).toThrow(/TRUSTED_COUNTRY_HEADER/);
  });
});

import { npmStartArgs } from './npm-start.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { GraphQLClient } from 'graphql-request';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { AppModule } from '../../src/app-module.js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createTestDatabase, root, type TestDatabase } from './databases.js';
import { waitFor } from './wait.js';

export const ADMIN_TOKEN = 'test-admin-token';
export const MAIL_DOMAIN = 'intake.test';

export interface TestServer {
  app: App;
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  smtpPort: number;
  /** A graphql-request client; admin unless another token is given, anonymous with null. */
  client(token?: string | null): GraphQLClient;
  /** A graphql-ws client over a real socket. */
  wsClient(token?: string | null): Client;
  stop(): Promise<void>;
}

/**
 * Starts a real server on a free port over a fresh database of the suite's kind. `now` is the
 * clock of its SLA breach watch, so a test can move time on instead of waiting for it; `modules`
 * replaces the app's capabilities (all of them by default).
 */
export async function startTestServer(env: Record<string, string> = {}, options: { now?: () => Date; modules?: readonly AppModule[] } = {}): Promise<TestServer> {
  const database = await createTestDatabase();
  const config = loadConfig({
    ...database.env,
    PORT: '0',
    HOST: '127.0.0.1',
    SMTP_PORT: '0',
    INTAKE_ADMIN_TOKEN: ADMIN_TOKEN,
    MAIL_DOMAIN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Every test visitor comes from 127.0.0.1: a test of this limit sets it.
    LIVECHAT_OPEN_SESSIONS_PER_ADDRESS: '1000',
    ...env,
  });
  const app = await startApp(config, { now: options.now, modules: options.modules });
  const url = app.http.url;
  const sockets: Client[] = [];
  return {
    app,
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `${url.replace('http', 'ws')}/graphql`,
    smtpPort: app.smtp.port,
    client: (token = ADMIN_TOKEN) => graphqlClient(`${url}/graphql`, token),
    wsClient: (token = ADMIN_TOKEN) => {
      const client = wsClient(`${url.replace('http', 'ws')}/graphql`, token);
      sockets.push(client);
      return client;
    },
    async stop() {
      await Promise.all(sockets.map((s) => s.dispose()));
      await app.stop();
      await database.drop();
    },
  };
}

export function graphqlClient(url: string, token: string | null): GraphQLClient {
  return new GraphQLClient(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

export function wsClient(url: string, token: string | null): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

/** Collects the events of one subscription; `next(n)` waits until n have arrived. */
export function subscribe<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const events: T[] = [];
  const errors: unknown[] = [];
  const state = { completed: false };
  let waiters: Array<() => void> = [];
  const notify = () => {
    const pending = waiters;
    waiters = [];
    pending.forEach((w) => w());
  };
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        else events.push(value.data as T);
        notify();
      },
      error: (err) => {
        errors.push(err);
        notify();
      },
      complete: () => {
        state.completed = true;
        notify();
      },
    },
  );
  return {
    events,
    errors,
    dispose,
    /** Whether the server ended the stream (without an error). */
    get completed() {
      return state.completed;
    },
    /** Resolves once the server ended the subscription, completed or with an error; rejects after `ms`. */
    async untilEnded(ms = 10_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!state.completed && errors.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the subscription did not end within ${ms} ms (${events.length} events)`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    /** Resolves once `count` events (or an error) arrived; rejects after `ms`. */
    async waitFor(count: number, ms = 10_000): Promise<T[]> {
      const deadline = Date.now() + ms;
      while (events.length < count && errors.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} events within ${ms} ms, got ${events.length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      return events;
    },
  };
}

/**
 * Waits until the server holds exactly `count` open subscriptions (graphql-ws acknowledges
 * nothing per subscribe). Exactly, not at least: the subscriptions an earlier test disposed
 * must be gone too, or an event could be counted for a subscriber that is still leaving.
 */
export async function untilSubscribed(server: TestServer, count: number): Promise<void> {
  await waitFor(() => server.app.events.activeSubscriptions() === count, { what: `${count} open subscription(s) on the server` });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

/** Runs `npm start`'s command as a separate process, as an operator would, and waits for /healthz. */
export async function spawnServer(env: Record<string, string>, port: number): Promise<ServerProcess> {
  let output = '';
  const child = spawn(process.execPath, npmStartArgs(), {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), SMTP_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  // A first start initialises PGlite (about 2 s alone), far longer on a machine busy with other suites.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become healthy:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200)); // polling /healthz, the fact waited for
  }
  return {
    child,
    url,
    output: () => output,
    stop(signal = 'SIGTERM') {
      const started = Date.now();
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve({ code: child.exitCode, ms: 0 });
        child.once('exit', (code) => resolve({ code, ms: Date.now() - started }));
        child.kill(signal);
      });
    },
  };
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as import('node:net').AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export type { TestDatabase };

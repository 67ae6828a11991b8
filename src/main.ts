// First: on a Node older than the minimum this exits with one line before anything else loads.
import '../bin/node-version.mjs';
import cluster from 'node:cluster';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { FirstStart } from './app.js';
import type { Database } from './db/client.js';
import type { Logger } from './log.js';

// graphql-js checks every value against its classes unless told it runs in production.
process.env.NODE_ENV ??= 'production';

const SHUTDOWN_DEADLINE_MS = 5000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const usage = `Usage: tsx src/main.ts <command>
  start                         run the server (migrates first)
  migrate                       apply database migrations and exit
  token --agent EMAIL [--name N] [--role R]
                                create an API token and print it once: role AGENT (default)
                                speaks for the agent with this email; ADMIN may leave --agent out
  recompute-sla [--team ID]     recompute SLA deadlines of all tickets (or one team's, by number)
  print-schema                  print the GraphQL schema (SDL)
  check-schema                  fail when schema.graphql differs from the printed schema`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'migrate': {
      const config = loadConfig();
      const kind = await withMigratedDatabase(config, async (database) => database.kind);
      console.log(`migrated ${kind === 'pglite' ? config.dataDir : 'PostgreSQL'}`);
      return 0;
    }
    case 'token': {
      const { values } = parseArgs({
        args: rest,
        options: { name: { type: 'string' }, role: { type: 'string', default: 'AGENT' }, agent: { type: 'string' } },
      });
      const role = values.role?.toUpperCase();
      if ((role !== 'ADMIN' && role !== 'AGENT') || (role === 'AGENT' && !values.agent) || (!values.agent && !values.name)) {
        console.error(usage);
        return 2;
      }
      const { createApiToken, findAgentByEmail } = await import('./auth/service.js');
      const token = await withMigratedDatabase(loadConfig(), async (database) => {
        const agent = values.agent ? await findAgentByEmail(database.db, values.agent) : undefined;
        if (values.agent && !agent) return null;
        return (await createApiToken(database.db, { name: values.name ?? agent!.name, role, agentId: agent?.id ?? null })).token;
      });
      if (!token) {
        console.error(`No agent has the email ${values.agent}: create one first (createAgent mutation).`);
        return 2;
      }
      console.log(token);
      return 0;
    }
    case 'recompute-sla': {
      const { values } = parseArgs({ args: rest, options: { team: { type: 'string' } } });
      const { recomputeSlaDeadlines } = await import('./sla/service.js');
      const started = Date.now();
      const count = await withMigratedDatabase(loadConfig(), (database) =>
        recomputeSlaDeadlines(database.db, { teamId: values.team ? Number(values.team) : null, onProgress: progressBar }),
      );
      process.stderr.write(`\nrecomputed ${count} tickets in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return 0;
    }
    case 'print-schema': {
      const { printIntakeSchema } = await import('./graphql/schema.js');
      process.stdout.write(printIntakeSchema());
      return 0;
    }
    case 'check-schema': {
      const { printIntakeSchema } = await import('./graphql/schema.js');
      const file = path.join(root, 'schema.graphql');
      const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      if (committed === printIntakeSchema()) return 0;
      console.error('schema.graphql differs from the schema the code prints: run `npm run schema` and commit the result.');
      return 1;
    }
    default:
      console.error(usage);
      return command ? 2 : 0;
  }
}

/** A one-line progress bar on stderr: [#########           ] 45% 45000/100000 */
function progressBar(done: number, total: number) {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(percent).padStart(3)}% ${done}/${total}`);
}

/** Opens the configured database, brings it up to date, runs `work` and closes it. */
async function withMigratedDatabase<T>(config: ReturnType<typeof loadConfig>, work: (database: import('./db/client.js').Database) => Promise<T>): Promise<T> {
  const { openDatabase } = await import('./db/client.js');
  const { migrateDatabase } = await import('./db/migrate.js');
  const database = await openDatabase(config);
  try {
    await migrateDatabase(database, config.databaseUrl);
    return await work(database);
  } finally {
    await database.close();
  }
}

async function start(): Promise<number> {
  const config = loadConfig();
  if (config.workers > 1) {
    if (!config.databaseUrl) {
      console.error('INTAKE_WORKERS above 1 needs DATABASE_URL: the embedded database belongs to a single process.');
      return 2;
    }
    return cluster.isPrimary ? startPrimary(config) : startWorker(config);
  }
  const { prepareFirstStart, startApp } = await import('./app.js');
  const app = await startApp(config);
  const first = await prepareFirstStart(app);
  await printBanner(app.database, config, app.publicUrl, app.smtp.port, first);
  app.log.info('started', { node: process.version, pid: process.pid });
  stopOnSignal(app.log, () => app.stop());
  return new Promise<number>(() => {});
}

/**
 * Several processes on one machine, each a full instance (HTTP, WebSocket, SMTP, event hub) that
 * shares the ports through node:cluster: one Node process uses one core, a busy server has more.
 * Instances already cooperate through PostgreSQL (events, breach-watch lock), so workers need
 * nothing from each other; the primary prepares the database, starts them and stops them.
 */
async function startPrimary(config: Config): Promise<number> {
  const { createLogger } = await import('./log.js');
  const log = createLogger(config.logLevel);
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A worker that dies is replaced; its open requests are lost, the others carry on.
    log.error('worker exited, starting another', { pid: worker.process.pid, code, signal });
    setTimeout(() => cluster.fork(), 1000).unref();
  });
  // Every worker's figures, served together by the primary (the workers answer over IPC).
  const { clusterFigures, serveMetrics } = await import('./observability/metrics-server.js');
  const metrics = config.metrics.port === null ? null : await serveMetrics(config.metrics.host, config.metrics.port, await clusterFigures(), log);
  await withMigratedDatabase(config, async (database) => {
    const { prepareFirstStart } = await import('./app.js');
    const { composeModules } = await import('./app-module.js');
    const { INTAKE_MODULES } = await import('./modules.js');
    // The demo is made with the modules' hooks, as a worker would make it (live chat opens its channel).
    const first = await prepareFirstStart({ database: { ...database, db: composeModules(INTAKE_MODULES).bind(database.db) }, config });
    // Every worker derives the same public URL (they share the port): the last one ready tells it.
    const { smtpPort, publicUrl } = await new Promise<{ smtpPort: number; publicUrl: string }>((resolve) => {
      const ready = new Set<number>();
      cluster.on('message', (worker, message: { smtpPort?: number; publicUrl?: string }) => {
        if (typeof message?.smtpPort !== 'number' || typeof message.publicUrl !== 'string') return;
        ready.add(worker.id);
        if (ready.size === config.workers) resolve({ smtpPort: message.smtpPort, publicUrl: message.publicUrl });
      });
      for (let i = 0; i < config.workers; i++) cluster.fork();
    });
    await printBanner(database, config, publicUrl, smtpPort, first, `${config.workers} worker processes`);
  });
  stopOnSignal(log, async () => {
    stopping = true;
    await metrics?.close();
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined && !w.isDead());
    await Promise.all(workers.map((w) => new Promise((resolve) => (w!.once('exit', resolve), w!.kill('SIGTERM')))));
  });
  return new Promise<number>(() => {});
}

async function startWorker(config: Config): Promise<number> {
  const { startApp } = await import('./app.js');
  const app = await startApp(config);
  process.send?.({ smtpPort: app.smtp.port, publicUrl: app.publicUrl });
  app.log.info('started', { node: process.version, pid: process.pid });
  // The primary forwards stop signals; a Ctrl-C in a terminal reaches every worker as well.
  stopOnSignal(app.log, () => app.stop());
  return new Promise<number>(() => {});
}

async function printBanner(database: Database, config: Config, publicUrl: string, smtpPort: number, first: FirstStart, processes?: string) {
  const { listTeams } = await import('./teams/service.js');
  const { publishedForms } = await import('./webform/service.js');
  const { channelsOfTeams } = await import('./livechat/channels.js');
  const { directLinkUrlOf } = await import('./livechat/widget.js');
  const { encodeGlobalID } = await import('@pothos/plugin-relay');
  const [teams, forms] = await Promise.all([listTeams(database.db), publishedForms(database.db)]);
  const chatTeams = teams.filter((t) => t.useLiveChat);
  const channels = await channelsOfTeams(database.db, chatTeams.map((t) => t.id));
  const aliases = teams.filter((t) => t.useEmailAlias && t.aliasLocalPart).map((t) => `${t.name} <${t.aliasLocalPart}@${t.aliasDomain}>`);
  const where = database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL';
  const lines = [
    '',
    `  Intake is running (${where}${processes ? `, ${processes}` : ''}).`,
    `  GraphiQL:     ${publicUrl}/graphql`,
    `  Health:       ${publicUrl}/healthz`,
    ...(config.metrics.port ? [`  Metrics:      http://${config.metrics.host}:${config.metrics.port}/metrics (readiness: ${publicUrl}/readyz)`] : []),
    `  SMTP:         ${config.smtpHost}:${smtpPort} (mail to the team aliases below becomes tickets)`,
    ...(first.team ? [`  Demo team:    ${first.team.name} created`] : []),
    ...(aliases.length ? [`  Team aliases: ${aliases.join(', ')}`] : []),
    ...forms.map(({ team, form }) => `  Website form: ${publicUrl}/support/${form.slug} (${team.name})`),
    ...channels.flatMap((channel) => [
      `  Live chat:    ${directLinkUrlOf(publicUrl, channel)} (${channel.name}; the embed code is LiveChatChannel.embedCode)`,
      `                operators join with joinLiveChatChannel(channelId: "${encodeGlobalID('LiveChatChannel', channel.id)}")`,
    ]),
    ...(first.adminToken
      ? [`  Admin token:  ${first.adminToken}`, '                (shown once: keep it; send it as "Authorization: Bearer <token>")']
      : config.adminToken
        ? ['  Admin token:  INTAKE_ADMIN_TOKEN from the environment']
        : []),
    '',
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

/**
 * SIGINT/SIGTERM run `stop`; whatever hangs, the process is gone within the deadline. A signal
 * often comes twice: a supervisor signals the whole process group and npm forwards its copy to
 * us as well. Later ones are ignored, so the second does not kill us halfway through the first.
 */
function stopOnSignal(log: Logger, stop: () => Promise<void>) {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    setTimeout(() => {
      log.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    stop().then(
      () => {
        log.info('stopped', { signal });
        process.exit(0);
      },
      (err) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    // Settings that make no sense are the operator's to fix: their names, not a stack trace.
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);

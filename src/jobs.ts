import type { Config } from './config.js';
import type { Db } from './db/client.js';
import type { EventHub } from './events/hub.js';
import type { Logger } from './log.js';
import type { Tracing } from './observability/tracing.js';

/** What a background job may use: the app's database handle (with its hooks), settings and clock. */
export interface JobContext {
  db: Db;
  config: Config;
  events: EventHub;
  log: Logger;
  /** The app's clock: tests move it on instead of waiting. */
  now(): Date;
  /** The app's tracing, null when off: each round is a span (`job <name>`), its statements nested in it. */
  tracing: Tracing | null;
}

/** Work a capability runs in the background on every instance, every `intervalMs`. */
export interface Job {
  name: string;
  intervalMs(config: Config): number;
  /** One round; rounds of a job never overlap. Several instances coordinate through the database. */
  run(context: JobContext): Promise<unknown>;
}

/** The running jobs: stop them, and when each last finished a round without failing. */
export interface RunningJobs {
  stop(): Promise<void>;
  /** Per job: its interval and when its last round succeeded (its start time before the first). */
  health(): Array<{ name: string; intervalMs: number; lastSuccess: number }>;
}

/** Starts the jobs; `stop` stops them and waits for rounds under way. */
export function startJobs(jobs: readonly Job[], context: JobContext): RunningJobs {
  const { tracing } = context;
  const running = jobs.map((job) => {
    let round: Promise<unknown> = Promise.resolve();
    const run = tracing ? () => tracing.span(`job ${job.name}`, { attributes: { 'intake.job': job.name } }, () => job.run(context)) : () => job.run(context);
    const entry = { name: job.name, intervalMs: job.intervalMs(context.config), lastSuccess: Date.now(), timer: undefined as NodeJS.Timeout | undefined, last: () => round };
    entry.timer = setInterval(() => {
      round = round
        .then(run)
        .then(() => void (entry.lastSuccess = Date.now()))
        .catch((err) => context.log.error(`${job.name} failed`, { err }));
    }, entry.intervalMs);
    entry.timer.unref();
    return entry;
  });
  return {
    async stop() {
      for (const { timer } of running) clearInterval(timer);
      await Promise.all(running.map(({ last }) => last()));
    },
    health: () => running.map(({ name, intervalMs, lastSuccess }) => ({ name, intervalMs, lastSuccess })),
  };
}

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

/** Starts the jobs; the returned function stops them and waits for rounds under way. */
export function startJobs(jobs: readonly Job[], context: JobContext): () => Promise<void> {
  const { tracing } = context;
  const running = jobs.map((job) => {
    let round: Promise<unknown> = Promise.resolve();
    const run = tracing ? () => tracing.span(`job ${job.name}`, { attributes: { 'intake.job': job.name } }, () => job.run(context)) : () => job.run(context);
    const timer = setInterval(() => {
      round = round.then(run).catch((err) => context.log.error(`${job.name} failed`, { err }));
    }, job.intervalMs(context.config));
    timer.unref();
    return { timer, last: () => round };
  });
  return async () => {
    for (const { timer } of running) clearInterval(timer);
    await Promise.all(running.map(({ last }) => last()));
  };
}

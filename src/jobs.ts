import type { Config } from './config.js';
import type { Db } from './db/client.js';
import type { EventHub } from './events/hub.js';
import type { Logger } from './log.js';

/** What a background job may use: the app's database handle (with its hooks), settings and clock. */
export interface JobContext {
  db: Db;
  config: Config;
  events: EventHub;
  log: Logger;
  /** The app's clock: tests move it on instead of waiting. */
  now(): Date;
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
  const running = jobs.map((job) => {
    let round: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      round = round.then(() => job.run(context)).catch((err) => context.log.error(`${job.name} failed`, { err }));
    }, job.intervalMs(context.config));
    timer.unref();
    return { timer, last: () => round };
  });
  return async () => {
    for (const { timer } of running) clearInterval(timer);
    await Promise.all(running.map(({ last }) => last()));
  };
}

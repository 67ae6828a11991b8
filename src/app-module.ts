import type { DbOrTx } from './db/client.js';
import type { EventType } from './events/hub.js';
import type { Route } from './http/router.js';
import type { Job } from './jobs.js';
import { withTicketWriteHooks, type TicketWriteHook } from './tickets/write-hooks.js';

/**
 * What one capability adds to an app, declared in its `module.ts`. Its GraphQL types are
 * registered on the shared builder when its module file loads (each `module.ts` imports its
 * `graphql.ts`); everything else takes effect only in an app composed with the module.
 */
export interface AppModule {
  name: string;
  /** Event types it publishes: the app's event hub delivers them to subscribers. */
  events?: readonly EventType<any>[];
  /** Run inside every transaction that writes tickets (SLA recomputes deadlines in one). */
  ticketWriteHooks?: readonly TicketWriteHook[];
  /** HTTP routes, each with its own headers. */
  routes?: readonly Route[];
  /** Background work on every instance. */
  jobs?: readonly Job[];
}

/** The modules of one app, put together. */
export interface ModuleSet {
  modules: readonly AppModule[];
  events: readonly EventType<any>[];
  routes: readonly Route[];
  jobs: readonly Job[];
  ticketWriteHooks: readonly TicketWriteHook[];
  /**
   * The database handle services get in this app (HTTP, GraphQL, SMTP, jobs; tests and the CLI
   * too): ticket writes through it, and through its transactions, run the modules' hooks.
   */
  bind<T extends DbOrTx>(db: T): T;
}

export function composeModules(modules: readonly AppModule[]): ModuleSet {
  const names = modules.map((m) => m.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new Error(`module ${twice} is composed twice`);
  const ticketWriteHooks = modules.flatMap((m) => m.ticketWriteHooks ?? []);
  return {
    modules,
    events: modules.flatMap((m) => m.events ?? []),
    routes: modules.flatMap((m) => m.routes ?? []),
    jobs: modules.flatMap((m) => m.jobs ?? []),
    ticketWriteHooks,
    bind: (db) => withTicketWriteHooks(db, ticketWriteHooks),
  };
}

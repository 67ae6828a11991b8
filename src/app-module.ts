import { NO_SCOPE_LOOKUPS, type ScopeLookups } from './auth/principal.js';
import type { Config } from './config.js';
import type { Database, DbOrTx } from './db/client.js';
import type { EventHub, EventType } from './events/hub.js';
import type { Route } from './http/router.js';
import type { Job } from './jobs.js';
import type { Logger } from './log.js';
import type { ReadinessCheck } from './observability/readiness.js';
import { withTeamWriteHooks, type TeamWriteHook } from './teams/write-hooks.js';
import { withSlaTicketFilter, type SlaTicketFilter } from './tickets/sla-filter.js';
import { withTicketWriteHooks, type TicketWriteHook } from './tickets/write-hooks.js';
import type { Tracing } from './observability/tracing.js';

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
  /** Run inside every transaction that creates or changes a team (live chat keeps its channel in step). */
  teamWriteHooks?: readonly TeamWriteHook[];
  /** The conditions of the ticket list's SLA filters (SLA's module); an app without them refuses those filters. */
  slaTicketFilter?: SlaTicketFilter;
  /** HTTP routes, each with its own headers. */
  routes?: readonly Route[];
  /** Background work on every instance. */
  jobs?: readonly Job[];
  /** Checks of its own that /readyz runs (outbound mail waiting too long, say). */
  readinessChecks?: readonly ReadinessCheck[];
  /**
   * Values of its own the app's database handle carries, one per app (teams: its directory of
   * aliases): services reach them through the handle, as they reach the hooks.
   */
  bindHandle?<T extends DbOrTx>(db: T): T;
  /** The per-object answers behind its authorisation scopes (operatorOf: is this agent an operator of the channel). */
  scopeLookups?: (db: DbOrTx) => Partial<ScopeLookups>;
  /**
   * Services of its own with a lifetime (a LISTEN connection, an in-memory tracker), started
   * before the event hub; the returned function stops them.
   */
  start?(context: ModuleStartContext): Promise<() => Promise<void>>;
}

export interface ModuleStartContext {
  config: Config;
  /** Its `db` carries the app's hooks. */
  database: Database;
  events: EventHub;
  log: Logger;
  /** The app's tracing, null when off: a service traces its own work (an outbound send) with it. */
  tracing: Tracing | null;
}

/** The modules of one app, put together. */
export interface ModuleSet {
  modules: readonly AppModule[];
  events: readonly EventType<any>[];
  routes: readonly Route[];
  jobs: readonly Job[];
  readinessChecks: readonly ReadinessCheck[];
  ticketWriteHooks: readonly TicketWriteHook[];
  teamWriteHooks: readonly TeamWriteHook[];
  scopeLookups(db: DbOrTx): ScopeLookups;
  /** Starts the modules' own services, in order; the returned function stops them in reverse. */
  start(context: ModuleStartContext): Promise<() => Promise<void>>;
  /**
   * The database handle services get in this app (HTTP, GraphQL, SMTP, jobs; tests and the CLI
   * too): ticket and team writes through it, and through its transactions, run the modules' hooks.
   */
  bind<T extends DbOrTx>(db: T): T;
}

export function composeModules(modules: readonly AppModule[]): ModuleSet {
  const names = modules.map((m) => m.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new Error(`module ${twice} is composed twice`);
  const ticketWriteHooks = modules.flatMap((m) => m.ticketWriteHooks ?? []);
  const teamWriteHooks = modules.flatMap((m) => m.teamWriteHooks ?? []);
  const slaTicketFilter = modules.find((m) => m.slaTicketFilter)?.slaTicketFilter;
  const withSlaFilter = <T extends DbOrTx>(db: T) => (slaTicketFilter ? withSlaTicketFilter(db, slaTicketFilter) : db);
  return {
    modules,
    events: modules.flatMap((m) => m.events ?? []),
    routes: modules.flatMap((m) => m.routes ?? []),
    jobs: modules.flatMap((m) => m.jobs ?? []),
    readinessChecks: modules.flatMap((m) => m.readinessChecks ?? []),
    ticketWriteHooks,
    teamWriteHooks,
    scopeLookups: (db) => Object.assign({}, NO_SCOPE_LOOKUPS, ...modules.map((m) => m.scopeLookups?.(db) ?? {})),
    async start(context) {
      const stops: Array<() => Promise<void>> = [];
      const stopAll = async () => {
        for (const stop of stops.reverse()) await stop();
      };
      try {
        for (const module of modules) if (module.start) stops.push(await module.start(context));
      } catch (err) {
        await stopAll();
        throw err;
      }
      return stopAll;
    },
    bind: (db) =>
      modules.reduce((handle, module) => module.bindHandle?.(handle) ?? handle, withSlaFilter(withTeamWriteHooks(withTicketWriteHooks(db, ticketWriteHooks), teamWriteHooks))),
  };
}

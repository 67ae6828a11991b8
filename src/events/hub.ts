import { sql } from 'drizzle-orm';
import { Repeater } from 'graphql-yoga';
import type { Database, DbOrTx } from '../db/client.js';
import type { Logger } from '../log.js';

export const EVENTS_CHANNEL = 'intake_events';

/** What travels through pg_notify: ids only, since NOTIFY payloads cap at 8000 bytes. */
export interface IntakeEvent {
  type: string;
  id: number;
  teamId: number;
}

/**
 * Queues an event inside the caller's transaction: PostgreSQL delivers it on commit and drops
 * it on rollback, so an event exists exactly when its data does.
 */
export async function publishEvent(db: DbOrTx, event: IntakeEvent): Promise<void> {
  await db.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(event)})`);
}

/** Queues one event per row in a single statement (bulk work). */
export async function publishEvents(db: DbOrTx, type: string, teamIdById: Map<number, number>): Promise<void> {
  const payloads = [...teamIdById].map(([id, teamId]) => JSON.stringify({ type, id, teamId }));
  // One text parameter cast to JSON: drizzle spreads JS arrays into separate parameters, and
  // postgres.js would JSON-encode a parameter it sees typed as json a second time.
  await db.execute(sql`select pg_notify(${EVENTS_CHANNEL}, p) from json_array_elements_text(${JSON.stringify(payloads)}::text::json) as p`);
}

type Loader = (id: number) => Promise<unknown>;

interface Subscriber {
  accepts: (event: IntakeEvent) => boolean;
  push: (value: unknown) => Promise<unknown>;
}

/**
 * One per server instance: LISTENs once, loads each changed row once, and fans it out to the
 * local subscribers that want it. Every instance sharing the database gets every event.
 */
export class EventHub {
  private readonly loaders = new Map<string, Loader>();
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private stopListening: (() => Promise<void>) | null = null;
  // Notifications are handled one after another so subscribers see them in commit order.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
  ) {}

  /** Declares how the rows of an event type are loaded for subscribers. */
  register(type: string, loader: Loader): void {
    this.loaders.set(type, loader);
  }

  async start(): Promise<void> {
    this.stopListening = await this.database.listen(EVENTS_CHANNEL, (payload) => {
      this.queue = this.queue.then(() => this.dispatch(payload));
    });
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = null;
    for (const set of this.subscribers.values()) set.clear();
  }

  subscribe<T>(type: string, accepts: (event: IntakeEvent) => boolean = () => true): AsyncIterable<T> {
    if (!this.loaders.has(type)) throw new Error(`no loader registered for event ${type}`);
    return new Repeater<T>(async (push, stop) => {
      const subscriber: Subscriber = { accepts, push: push as Subscriber['push'] };
      let set = this.subscribers.get(type);
      if (!set) this.subscribers.set(type, (set = new Set()));
      set.add(subscriber);
      await stop;
      set.delete(subscriber);
    });
  }

  /** Subscriptions open on this instance, of every event type: tests wait for it to rise before they publish. */
  activeSubscriptions(): number {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  private async dispatch(payload: string): Promise<void> {
    let event: IntakeEvent;
    try {
      event = JSON.parse(payload) as IntakeEvent;
    } catch {
      this.log.warn('ignored malformed event', { payload });
      return;
    }
    const interested = [...(this.subscribers.get(event.type) ?? [])].filter((s) => s.accepts(event));
    if (interested.length === 0) return;
    try {
      const row = await this.loaders.get(event.type)!(event.id);
      if (row === undefined) return;
      // Not awaited: a slow subscriber must not hold back the others.
      for (const s of interested) s.push(row).catch((err) => this.log.warn('subscriber dropped an event', { err }));
    } catch (err) {
      this.log.error('event delivery failed', { event, err });
    }
  }
}

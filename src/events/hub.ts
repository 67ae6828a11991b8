import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import { Repeater } from 'graphql-yoga';
import { queryRows, type Database, type Db, type DbOrTx } from '../db/client.js';
import type { Logger } from '../log.js';
import { metricsOf } from '../observability/metrics.js';
import { events, eventStreams } from './tables.js';

export const EVENTS_CHANNEL = 'intake_events';

/** How long the event log keeps what it replays; a cursor older than this cannot resume. */
export const EVENT_RETENTION_DAYS = 7;
/** Events read from the log per query when replaying or catching up. */
const REPLAY_BATCH = 500;
/** Bounds of the wait before a failed delivery (the database refused) is tried again. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

/**
 * An event type, declared once: its name in the log and how its rows are loaded for
 * subscribers. `subscribe` yields what `load` returns, so resolvers need no casts.
 */
export interface EventType<T> {
  name: string;
  /** The rows behind these ids, as subscribers will see them; a missing id (deleted row) is skipped. */
  load(db: Db, ids: number[]): Promise<Map<number, T>>;
  /**
   * Live only: published with `notifyEvents` (or `liveNotification`), neither logged nor
   * numbered, so publishers do not queue behind the type's stream lock. For types whose
   * subscribers read their state from their own tables (chat messages by their seq within the
   * session): they follow `subscribeLive`, which also tells them when notifications may have
   * been lost, and have no `after`.
   */
  liveOnly?: boolean;
  /**
   * The row as a publisher carried it in the notification (JSON, see `liveNotification`), or
   * undefined to load it: a carried row saves each instance a read per batch.
   */
  fromNotification?(row: unknown): T;
}

export function defineEvent<T>(type: EventType<T>): EventType<T> {
  return type;
}

/** What the log holds and pg_notify carries: ids, and a live-only event's row when it fits. */
interface LoggedEvent {
  position: number;
  id: number;
  /** The filter key subscribers choose by (a team, a chat session). */
  key: number | null;
  /** A live-only event's row, carried when the payload stays under NOTIFY's 8000 bytes. */
  row?: unknown;
}

/** What a live-only subscription yields: a row, or word that notifications may have been lost. */
export type LiveEvent<T> = { node: T; missed?: undefined } | { missed: true; node?: undefined };

/** NOTIFY refuses payloads of 8000 bytes or more (the server's default build). */
const MAX_NOTIFY_BYTES = 8000;

/** One delivered event: the row and the cursor to resume after it. */
export interface EventEdge<T> {
  cursor: string;
  node: T;
}

/**
 * Logs events inside the caller's transaction, unnumbered: they exist exactly when their data
 * does (a rollback drops them). On commit PostgreSQL delivers one hint per type to every hub, and
 * the hubs number the committed events (`sequenceEvents`) and deliver them. No writer waits for
 * another: the type's stream row is locked only by the sequencer's own short statement, never
 * across a writer's transaction, so ticket creations commit side by side.
 */
export async function publishEvents(db: DbOrTx, type: { name: string } | string, keyById: Map<number, number | null>): Promise<void> {
  if (keyById.size === 0) return;
  const name = typeof type === 'string' ? type : type.name;
  // One text parameter cast to JSON: drizzle spreads JS arrays into separate parameters, and
  // postgres.js would JSON-encode a parameter it sees typed as json a second time.
  const pairs = JSON.stringify([...keyById]);
  await db.execute(sql`
    with ${eventLogSteps(name, sql`select (e.value->>0)::int, (e.value->>1)::int from json_array_elements(${pairs}::text::json) with ordinality as e(value, ord) order by e.ord`)}
    select count(*) from ${EVENT_HINT}`);
}

/** The step of `eventLogSteps` that must be read for the hint to be sent. */
export const EVENT_HINT = sql.raw('event_hint');

/**
 * publishEvents as steps of the caller's own statement (a writer that logs its rows' events in
 * the statement that writes them): `rows` yields (entity id, key id) in event order. PostgreSQL
 * runs a SELECT step only when it is read, so the statement must read EVENT_HINT.
 */
export function eventLogSteps(type: string, rows: SQL): SQL {
  return sql`logged_events as (
      insert into event_backlog (type, entity_id, key_id) select ${type}, rows.* from (${rows}) as rows
      returning id
    ), ${EVENT_HINT} as materialized (
      select pg_notify(${EVENTS_CHANNEL}, json_build_object('type', ${type}::text, 'pending', true)::text) where exists (select from logged_events)
    )`;
}

/** Backlog rows one sequencer statement numbers at most. */
const SEQUENCE_BATCH = 1000;

/**
 * Numbers committed events of a type: moves them from the backlog into the log with the next
 * positions, in backlog order, and notifies each, all in one short statement of its own. Rows an
 * uncommitted writer holds are not seen yet, and rows another sequencer is moving are skipped
 * (skip locked); the stream row is locked only after the rows are taken, and only by
 * sequencers, so positions stay gapless and follow the sequencers' commit order. Loops until
 * the backlog seen is empty; returns how many it numbered.
 */
export async function sequenceEvents(db: DbOrTx, type: string): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await queryRows(
      db,
      sql`
      with moved as (
        delete from event_backlog where id in (
          select id from event_backlog where type = ${type} order by id limit ${SEQUENCE_BATCH} for update skip locked
        ) returning id, entity_id, key_id
      ), bumped as (
        insert into event_streams (type, position) select ${type}, count(*) from moved having count(*) > 0
        on conflict (type) do update set position = event_streams.position + excluded.position
        returning position
      ), logged as (
        insert into events (type, position, entity_id, key_id)
        select ${type}, bumped.position - (select count(*) from moved) + row_number() over (order by moved.id), moved.entity_id, moved.key_id
        from bumped, moved
        returning position, entity_id, key_id
      )
      select pg_notify(${EVENTS_CHANNEL}, json_build_object('type', ${type}::text, 'position', position, 'id', entity_id, 'key', key_id)::text)
      from logged order by position`,
    );
    total += rows.length;
    if (rows.length < SEQUENCE_BATCH) return total;
  }
}

/**
 * Queues notifications of a live-only type inside the caller's transaction (delivered on commit,
 * dropped on rollback) with no log row and no stream lock: transactions of that type commit side
 * by side instead of one after the other.
 */
export async function notifyEvents(db: DbOrTx, type: EventType<unknown>, keyById: Map<number, number | null>): Promise<void> {
  await notifyEventsOfTypes(db, [[type, keyById]]);
}

/** `notifyEvents` for several types in one statement, in the order given. */
export async function notifyEventsOfTypes(db: DbOrTx, batches: Array<[EventType<unknown>, Map<number, number | null>]>): Promise<void> {
  const triples = batches.flatMap(([type, keyById]) => [...keyById].map(([id, key]) => [type.name, id, key]));
  if (triples.length === 0) return;
  await db.execute(sql`
    select pg_notify(${EVENTS_CHANNEL}, json_build_object('type', e.value->>0, 'position', 0, 'id', (e.value->>1)::int, 'key', (e.value->>2)::int)::text)
    from json_array_elements(${JSON.stringify(triples)}::text::json) as e(value)`);
}

/**
 * The pg_notify call of one live-only event, for a statement that writes the row and notifies
 * in one go: `row` (JSON) rides along when the payload fits, else subscribers load it by id.
 */
export function liveNotification(type: EventType<unknown>, id: SQL, key: SQL, row: SQL): SQL {
  return sql`pg_notify(${EVENTS_CHANNEL}, case
    when octet_length(json_build_object('type', ${type.name}::text, 'position', 0, 'id', ${id}, 'key', ${key}, 'row', ${row})::text) < ${MAX_NOTIFY_BYTES}
    then json_build_object('type', ${type.name}::text, 'position', 0, 'id', ${id}, 'key', ${key}, 'row', ${row})::text
    else json_build_object('type', ${type.name}::text, 'position', 0, 'id', ${id}, 'key', ${key})::text end)`;
}

export async function publishEvent(db: DbOrTx, type: { name: string } | string, id: number, key: number | null): Promise<void> {
  await publishEvents(db, type, new Map([[id, key]]));
}

export function encodeCursor(type: string, position: number): string {
  return Buffer.from(`${type}:${position}`).toString('base64url');
}

/** The position a cursor of this type stands for, or null when it is not one. */
export function decodeCursor(type: string, cursor: string): number | null {
  const [cursorType, position, ...rest] = Buffer.from(cursor, 'base64url').toString().split(':');
  const value = Number(position);
  return cursorType === type && rest.length === 0 && /^\d+$/.test(position ?? '') && Number.isSafeInteger(value) ? value : null;
}

interface Subscriber {
  key: number | null;
  /** A service of the instance (the team directory), not a client's subscription: left out of the count. */
  internal?: boolean;
  receive(position: number, node: unknown): void;
  /** Live-only types: notifications may have been lost (the LISTEN connection dropped). */
  missed?(): void;
}

/**
 * The subscribers of one type by the key they chose (null: every key), so an event reaches its
 * key's subscribers without a scan of all of them.
 */
class SubscriberIndex {
  private readonly byKey = new Map<number | null, Set<Subscriber>>();
  /** Clients' subscriptions (internal subscribers left out). */
  size = 0;

  add(subscriber: Subscriber): void {
    let set = this.byKey.get(subscriber.key);
    if (!set) this.byKey.set(subscriber.key, (set = new Set()));
    set.add(subscriber);
    if (!subscriber.internal) this.size++;
  }

  delete(subscriber: Subscriber): void {
    const set = this.byKey.get(subscriber.key);
    if (!set?.delete(subscriber)) return;
    if (!subscriber.internal) this.size--;
    if (set.size === 0) this.byKey.delete(subscriber.key);
  }

  /** Those an event of this key goes to: its key's subscribers and those of every key. */
  wanting(key: number | null): Subscriber[] {
    const everyKey = this.byKey.get(null);
    const ofKey = key === null ? undefined : this.byKey.get(key);
    return [...(everyKey ?? []), ...(ofKey ?? [])];
  }

  all(): Subscriber[] {
    return [...this.byKey.values()].flatMap((set) => [...set]);
  }

  clear(): void {
    this.byKey.clear();
    this.size = 0;
  }
}

/** Ends a subscription whose consumer fell too far behind, instead of holding up everyone's delivery. */
function tooSlow(): GraphQLError {
  return new GraphQLError('This subscription fell too far behind and was ended: subscribe again (with your last cursor) to resume.', {
    extensions: { code: 'SUBSCRIBER_TOO_SLOW' },
  });
}

/**
 * Pushes without waiting for the consumer. A Repeater throws at once when too many pushes are
 * pending (1,024): that subscriber's stream ends with an error, and the others' delivery goes on.
 */
function offer<T>(push: (value: T) => Promise<unknown>, stop: (error: unknown) => unknown, value: T): void {
  try {
    push(value).catch(() => {});
  } catch {
    stop(tooSlow());
  }
}

/** Events a subscriber may have waiting, as a Repeater allows pending pushes. */
const MAX_WAITING_EVENTS = 1024;

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });

/**
 * One live-only subscription: the subscriber itself (registered on the first read, as a Repeater
 * would run its executor) and the iterator its stream reads. Thousands of idle chat streams each
 * hold one, so it is a class, not a Repeater with an executor and closures per subscription: an
 * idle one holds its pending read. Past MAX_WAITING_EVENTS unread events it ends with
 * SUBSCRIBER_TOO_SLOW, after those it has; the others' delivery goes on.
 */
class LiveSubscription<T> implements Subscriber, AsyncIterableIterator<LiveEvent<T>> {
  private state: 'new' | 'open' | 'ended' = 'new';
  private waiting: LiveEvent<T>[] | null = null;
  private reading: { resolve: (result: IteratorResult<LiveEvent<T>>) => void; reject: (err: unknown) => void } | null = null;
  private error: unknown = null;

  constructor(
    readonly key: number | null,
    private readonly subscribers: SubscriberIndex,
  ) {}

  receive(_position: number, node: unknown): void {
    this.offer({ node: node as T });
  }

  missed(): void {
    this.offer({ missed: true });
  }

  next(): Promise<IteratorResult<LiveEvent<T>>> {
    if (this.state === 'new') {
      this.state = 'open';
      this.subscribers.add(this);
    }
    if (this.waiting?.length) return Promise.resolve({ done: false, value: this.waiting.shift()! });
    if (this.state === 'ended') {
      const error = this.error;
      this.error = null;
      return error === null ? Promise.resolve(DONE) : Promise.reject(error);
    }
    return new Promise((resolve, reject) => (this.reading = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<LiveEvent<T>>> {
    this.waiting = null;
    this.end(null);
    this.error = null;
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private offer(event: LiveEvent<T>): void {
    if (this.state !== 'open') return;
    const read = this.reading;
    if (read) {
      this.reading = null;
      return read.resolve({ done: false, value: event });
    }
    if ((this.waiting ??= []).length < MAX_WAITING_EVENTS) this.waiting.push(event);
    else this.end(tooSlow());
  }

  private end(error: unknown): void {
    if (this.state === 'open') this.subscribers.delete(this);
    this.state = 'ended';
    const read = this.reading;
    this.reading = null;
    if (!read) this.error = error;
    else if (error === null) read.resolve(DONE);
    else read.reject(error);
  }
}

/** One registered type: its subscribers, its dispatch queue and the last position handed out. */
interface Stream {
  type: EventType<unknown>;
  subscribers: SubscriberIndex;
  // One queue per type: events of a type reach subscribers in commit order, and a slow loader
  // holds back only its own type.
  queue: Promise<void>;
  delivered: number;
  /** Live-only events not yet handed out: those that arrive while one load runs share the next. */
  waiting: LoggedEvent[];
  /** Logged types: numbering of committed events, apart from delivery so neither waits on the other. */
  sequencing: Promise<void>;
  /** A numbering is queued and not started: hints that arrive meanwhile are covered by it. */
  sequenceQueued: boolean;
}

/**
 * One per server instance: LISTENs once, loads each changed row once, and fans it out to the
 * local subscribers that want it. Every instance sharing the database gets every event; one
 * that missed some (a dropped LISTEN connection) reads them from the log.
 */
export class EventHub {
  private readonly streams = new Map<string, Stream>();
  private stopListening: (() => Promise<void>) | null = null;
  private stopped = false;
  private connected = false;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
  ) {}

  /** Declares the event types this instance delivers. */
  register(...types: EventType<any>[]): void {
    for (const type of types) {
      if (this.streams.has(type.name)) throw new Error(`event type ${type.name} registered twice`);
      this.streams.set(type.name, { type, subscribers: new SubscriberIndex(), queue: Promise.resolve(), delivered: 0, waiting: [], sequencing: Promise.resolve(), sequenceQueued: false });
    }
  }

  async start(): Promise<void> {
    // Notifications that arrive before the starting positions are known wait for them.
    const { promise: started, resolve: ready } = Promise.withResolvers<void>();
    for (const stream of this.streams.values()) stream.queue = started;
    try {
      this.stopListening = await this.database.listen(
        EVENTS_CHANNEL,
        (payload) => this.onNotification(payload),
        () => {
          this.connected = true;
          this.catchUpAll();
        },
        () => (this.connected = false),
      );
      this.connected = true;
      const positions = await this.database.db.select({ type: eventStreams.type, position: eventStreams.position }).from(eventStreams);
      for (const { type, position } of positions) {
        const stream = this.streams.get(type);
        if (stream) stream.delivered = position;
      }
    } finally {
      ready();
    }
    // Events committed while no hub listened (a crash between commit and numbering, an outage).
    for (const stream of this.streams.values()) if (!stream.type.liveOnly) this.sequence(stream);
  }

  /** Whether its LISTEN connection is up: while it is not, this instance hears of no commit (readiness). */
  isListening(): boolean {
    return this.connected && !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.stopListening?.();
    this.stopListening = null;
    for (const stream of this.streams.values()) stream.subscribers.clear();
  }

  /**
   * Live events of a type, optionally only those of one key. With `after` (a cursor this stream
   * handed out), first replays what was committed after it, then continues live: the live
   * subscription starts before the replay and buffers, so nothing falls between the two, and
   * positions already replayed are skipped.
   */
  async subscribe<T>(type: EventType<T>, options: { key?: number | null; after?: string | null } = {}): Promise<AsyncIterable<EventEdge<T>>> {
    const stream = this.streams.get(type.name);
    if (!stream) throw new Error(`event type ${type.name} is not registered`);
    const key = options.key ?? null;
    if (type.liveOnly) throw new Error(`event type ${type.name} is live only: follow it with subscribeLive`);
    const after = options.after == null ? null : await this.checkedCursor(type.name, options.after);
    return new Repeater<EventEdge<T>>(async (push, stop) => {
      let last = after ?? 0;
      const deliver = (position: number, node: unknown) => {
        if (position <= last) return;
        last = position;
        offer(push, stop, { cursor: encodeCursor(type.name, position), node: node as T });
      };
      let buffered: Array<[number, unknown]> | null = after === null ? null : [];
      const subscriber: Subscriber = {
        key,
        receive: (position, node) => (buffered ? buffered.push([position, node]) : deliver(position, node)),
      };
      stream.subscribers.add(subscriber);
      try {
        if (after !== null) {
          await this.replay(type, key, after, deliver);
          for (const [position, node] of buffered!) deliver(position, node);
          buffered = null;
        }
        await stop;
      } catch (err) {
        stop(err);
      } finally {
        stream.subscribers.delete(subscriber);
      }
    });
  }

  /**
   * Live events of a live-only type, optionally only those of one key. After notifications may
   * have been lost (a reconnect of the LISTEN connection), it yields `{ missed: true }`, in order
   * with the events: the subscriber reads what it missed from its tables.
   */
  async subscribeLive<T>(type: EventType<T>, options: { key?: number | null } = {}): Promise<AsyncIterable<LiveEvent<T>>> {
    const stream = this.streams.get(type.name);
    if (!stream) throw new Error(`event type ${type.name} is not registered`);
    if (!type.liveOnly) throw new Error(`event type ${type.name} is logged: follow it with subscribe`);
    return new LiveSubscription<T>(options.key ?? null, stream.subscribers);
  }

  /**
   * Calls `listener` with each event of a live-only type, and with `{ missed: true }` when
   * notifications may have been lost: for a service of the instance (the team directory), not a
   * client, so it has no queue and is left out of `activeSubscriptions`. Returns its stop.
   */
  watchLive<T>(type: EventType<T>, listener: (event: LiveEvent<T>) => void): () => void {
    const stream = this.streams.get(type.name);
    if (!stream) throw new Error(`event type ${type.name} is not registered`);
    if (!type.liveOnly) throw new Error(`event type ${type.name} is logged: watchLive follows live-only types`);
    const subscriber: Subscriber = {
      key: null,
      internal: true,
      receive: (_position, node) => listener({ node: node as T }),
      missed: () => listener({ missed: true }),
    };
    stream.subscribers.add(subscriber);
    return () => stream.subscribers.delete(subscriber);
  }

  /** Subscriptions open on this instance, of every event type: tests wait for it to rise before they publish. */
  activeSubscriptions(): number {
    let count = 0;
    for (const stream of this.streams.values()) count += stream.subscribers.size;
    return count;
  }

  /** The position behind a client's cursor, or a GraphQL error it can act on. */
  private async checkedCursor(type: string, cursor: string): Promise<number> {
    const position = decodeCursor(type, cursor);
    const [state] = await this.database.db.select().from(eventStreams).where(eq(eventStreams.type, type));
    if (position === null || position > (state?.position ?? 0)) {
      throw new GraphQLError(`after is not a cursor of this subscription.`, { extensions: { code: 'INVALID_CURSOR' } });
    }
    if (position < (state?.prunedThrough ?? 0)) {
      throw new GraphQLError(`after is older than the ${EVENT_RETENTION_DAYS}-day event log: reload, then subscribe without it.`, {
        extensions: { code: 'CURSOR_EXPIRED' },
      });
    }
    return position;
  }

  /** Reads the log after a position, in order, a batch at a time, loading each batch's rows once. */
  private async replay<T>(type: EventType<T>, key: number | null, after: number, deliver: (position: number, node: T) => void): Promise<void> {
    for (let from = after; ; ) {
      const batch = await this.logAfter(type.name, from, key);
      if (batch.length === 0) return;
      const nodes = await type.load(this.database.db, [...new Set(batch.map((e) => e.id))]);
      for (const event of batch) {
        const node = nodes.get(event.id);
        if (node !== undefined) deliver(event.position, node);
      }
      if (batch.length < REPLAY_BATCH) return;
      from = batch.at(-1)!.position;
    }
  }

  private logAfter(type: string, position: number, key: number | null): Promise<LoggedEvent[]> {
    return this.database.db
      .select({ position: events.position, id: events.entityId, key: events.keyId })
      .from(events)
      .where(and(eq(events.type, type), gt(events.position, position), key === null ? undefined : eq(events.keyId, key)))
      .orderBy(asc(events.position))
      .limit(REPLAY_BATCH);
  }

  private onNotification(payload: string): void {
    const arrived = performance.now();
    let event: LoggedEvent & { type: string; pending?: boolean };
    try {
      event = JSON.parse(payload);
    } catch {
      this.log.warn('ignored malformed event', { payload });
      return;
    }
    const stream = this.streams.get(event.type);
    if (!stream) return;
    // A writer committed events of this type: number them (their positions come as notifications).
    if (event.pending) return stream.type.liveOnly ? undefined : this.sequence(stream);
    if (stream.type.liveOnly) {
      stream.waiting.push(event);
      if (stream.waiting.length > 1) return; // a hand-out is already queued and will take it
      // Taken when the hand-out starts, once: a retry hands out the same events.
      let batch: LoggedEvent[] | null = null;
      return this.enqueue(stream, async () => {
        await this.handOut(stream, (batch ??= stream.waiting.splice(0)));
        this.observeLag(stream, arrived);
      });
    }
    this.enqueue(stream, async () => {
      if (event.position <= stream.delivered) return;
      // Positions have no gaps: a jump means notifications were lost, and the log has them.
      if (event.position === stream.delivered + 1) await this.dispatch(stream, [event]);
      else await this.catchUp(stream);
      this.observeLag(stream, arrived);
    });
  }

  /** Time from a notification's arrival to its hand-out (queueing behind its type's earlier events, and the load). */
  private observeLag(stream: Stream, arrived: number): void {
    metricsOf(this.database.db)?.eventDeliveryLag.observe({ type: stream.type.name }, (performance.now() - arrived) / 1000);
  }

  /**
   * After a reconnect of the LISTEN connection: whatever committed meanwhile is in the log, or,
   * for live-only types, in the subscribers' own tables: they are told, after the events already
   * queued, and read it at once rather than at their next event.
   */
  private catchUpAll(): void {
    this.log.warn('event listener reconnected: catching up from the event log');
    metricsOf(this.database.db)?.listenReconnects.inc();
    for (const stream of this.streams.values()) {
      if (!stream.type.liveOnly) this.sequence(stream);
      if (!stream.type.liveOnly) this.enqueue(stream, () => this.catchUp(stream));
      else this.enqueue(stream, async () => stream.subscribers.all().forEach((subscriber) => this.tell(stream, () => subscriber.missed?.())));
    }
  }

  /** Runs one subscriber's part of a delivery: whatever it throws stays with it. */
  private tell(stream: Stream, deliver: () => void): void {
    try {
      deliver();
    } catch (err) {
      this.log.error('event delivery to a subscriber failed', { type: stream.type.name, err });
    }
  }

  /**
   * Queues a delivery behind the type's earlier ones. One that fails (the database refused to
   * load the rows) is tried again until it succeeds, and later events of the type wait behind
   * it: an event is never skipped, so no subscriber's cursor moves past it.
   */
  private enqueue(stream: Stream, work: () => Promise<void>): void {
    stream.queue = stream.queue.then(() => this.untilDone(stream, work));
  }

  private async untilDone(stream: Stream, work: () => Promise<void>): Promise<void> {
    for (let wait = RETRY_FIRST_MS; !this.stopped; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      try {
        return await work();
      } catch (err) {
        this.log.error('event delivery failed, trying again', { type: stream.type.name, retryInMs: wait, err });
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /**
   * Numbers the type's committed events, once more after whatever numbering runs now (its
   * snapshot may predate the commit that sent the hint); retried like a delivery until the
   * database answers. Every hub does it: the first takes the rows, the others find none.
   */
  private sequence(stream: Stream): void {
    if (stream.sequenceQueued) return;
    stream.sequenceQueued = true;
    stream.sequencing = stream.sequencing.then(() =>
      this.untilDone(stream, async () => {
        stream.sequenceQueued = false;
        await sequenceEvents(this.database.db, stream.type.name);
      }),
    );
  }

  private async catchUp(stream: Stream): Promise<void> {
    for (;;) {
      const batch = await this.logAfter(stream.type.name, stream.delivered, null);
      if (batch.length === 0) return;
      await this.dispatch(stream, batch);
      if (batch.length < REPLAY_BATCH) return;
    }
  }

  /** Loads the rows of these events once, for the subscribers that want them, and hands them out in order. */
  private async dispatch(stream: Stream, batch: LoggedEvent[]): Promise<void> {
    await this.handOut(stream, batch);
    // Only once handed out: a failed load leaves them to the retry.
    stream.delivered = batch.at(-1)!.position;
  }

  private async handOut(stream: Stream, batch: LoggedEvent[]): Promise<void> {
    const targets = batch.map((event) => stream.subscribers.wanting(event.key));
    const { fromNotification } = stream.type;
    const carried = (event: LoggedEvent) => fromNotification !== undefined && event.row != null;
    const ids = [...new Set(batch.filter((event, i) => targets[i]!.length > 0 && !carried(event)).map((e) => e.id))];
    const nodes = ids.length === 0 ? new Map<number, unknown>() : await stream.type.load(this.database.db, ids);
    batch.forEach((event, i) => {
      if (targets[i]!.length === 0) return;
      const node = carried(event) ? fromNotification!(event.row) : nodes.get(event.id);
      if (node !== undefined) for (const subscriber of targets[i]!) this.tell(stream, () => subscriber.receive(event.position, node));
    });
  }

  /** Drops log rows past retention (the events module's pruning job does it hourly). */
  async prune(days = EVENT_RETENTION_DAYS): Promise<void> {
    await pruneEventLog(this.database.db, days);
  }
}

/** Drops log rows past retention and remembers how far, so older cursors are refused, not half-replayed. */
export async function pruneEventLog(db: DbOrTx, days = EVENT_RETENTION_DAYS): Promise<void> {
  await db.execute(sql`
    with gone as (
      delete from events where created_at < now() - make_interval(days => ${days}::int) returning type, position
    )
    update event_streams s set pruned_through = g.position
    from (select type, max(position) as position from gone group by type) g
    where s.type = g.type and s.pruned_through < g.position`);
}

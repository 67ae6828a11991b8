import { randomUUID } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import { liveChatOperators, liveChatPresences, liveChatSessions } from './tables.js';

/** How often an instance refreshes its presence rows by default (LIVECHAT_PRESENCE_HEARTBEAT_MS). */
export const PRESENCE_HEARTBEAT_MS = 15_000;
/** A row not refreshed for this long belongs to a dead instance: the operator counts as gone. */
export const PRESENCE_TTL_SECONDS = 45;

/** SQL condition: the operator has a live presence row for the channel. */
export const isConnected = (channelId: unknown, agentId: unknown) => sql`exists (
  select 1 from ${liveChatPresences} p
  where p.channel_id = ${channelId} and p.agent_id = ${agentId}
    and p.heartbeat_at > now() - make_interval(secs => ${PRESENCE_TTL_SECONDS}))`;

interface OperatorPresence {
  channelId: number;
  agentId: number;
}

/**
 * This instance's open chat streams, kept in PostgreSQL so every instance sees them:
 * - operators' liveChatSessionChanged(channelId) streams, one presence row each;
 * - visitors' streams of their own session, as the session's `visitor_seen_at` (a waiting
 *   visitor who is still there is not idle).
 * Each heartbeat refreshes both in one statement for the whole instance, and writes back any of
 * its operator rows that another instance deleted as stale (after a database outage or a stalled
 * event loop longer than the TTL): the instance, not the row, knows who is connected.
 */
export class PresenceTracker {
  readonly instanceId = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private readonly operators = new Map<number, OperatorPresence>();
  /** Session id → open visitor streams of it on this instance. */
  private readonly visitors = new Map<number, number>();
  /** Session id → how to end each open stream of it on this instance, should it be removed. */
  private readonly sessionStreams = new Map<number, Set<() => void>>();

  constructor(
    private readonly db: DbOrTx,
    private readonly onError: (err: unknown) => void,
    private readonly heartbeatMs = PRESENCE_HEARTBEAT_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.beat().catch(this.onError), this.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (this.operators.size > 0 || this.visitors.size > 0 || this.sessionStreams.size > 0) await this.refresh();
    await this.db.delete(liveChatPresences).where(lt(liveChatPresences.heartbeatAt, sql`now() - make_interval(secs => ${PRESENCE_TTL_SECONDS * 2})`));
  }

  /**
   * One statement for the whole instance: operators' rows refreshed or written back, waiting
   * visitors seen, and the sessions of open streams that were removed (their streams end).
   */
  private async refresh(): Promise<void> {
    const operators = JSON.stringify([...this.operators].map(([id, p]) => [id, p.channelId, p.agentId]));
    const visitors = JSON.stringify([...this.visitors.keys()]);
    const streamed = JSON.stringify([...this.sessionStreams.keys()]);
    // Rows come back under their old ids (never handed out again by the identity), so
    // disconnect() still finds them; ON CONFLICT covers a row refreshed meanwhile.
    const [result] = await queryRows<{ gone: number[] }>(
      this.db,
      sql`
      with mine as (
        select (e.value->>0)::int id, (e.value->>1)::int channel_id, (e.value->>2)::int agent_id
        from json_array_elements(${operators}::text::json) e
      ), refreshed as (
        update ${liveChatPresences} p set heartbeat_at = now()
        from mine where p.id = mine.id and p.instance_id = ${this.instanceId}
        returning p.id
      ), restored as (
        insert into ${liveChatPresences} (id, channel_id, agent_id, instance_id) overriding system value
        select mine.id, mine.channel_id, mine.agent_id, ${this.instanceId} from mine
        where mine.id not in (select id from refreshed)
          and exists (select 1 from ${liveChatOperators} o where o.channel_id = mine.channel_id and o.agent_id = mine.agent_id)
        on conflict (id) do nothing
        returning id
      ), seen as (
        update ${liveChatSessions} s set visitor_seen_at = now()
        where s.id in (select (v.value #>> '{}')::int from json_array_elements(${visitors}::text::json) v) and s.status = 'WAITING'
        returning s.id
      ), gone as (
        select (v.value #>> '{}')::int id from json_array_elements(${streamed}::text::json) v
        where not exists (select 1 from ${liveChatSessions} s where s.id = (v.value #>> '{}')::int)
      )
      select (select count(*) from refreshed) refreshed, (select count(*) from restored) restored, (select count(*) from seen) seen,
        (select coalesce(json_agg(id), '[]'::json) from gone) gone`,
    );
    for (const sessionId of result?.gone ?? []) for (const end of [...(this.sessionStreams.get(sessionId) ?? [])]) end();
  }

  /**
   * A stream of a session opened on this instance: ended (through `end`) at the first heartbeat
   * after the session is removed. Returns the function that says the stream ended.
   */
  sessionStreamOpened(sessionId: number, end: () => void): () => void {
    let ends = this.sessionStreams.get(sessionId);
    if (!ends) this.sessionStreams.set(sessionId, (ends = new Set()));
    ends.add(end);
    return () => {
      ends.delete(end);
      if (ends.size === 0 && this.sessionStreams.get(sessionId) === ends) this.sessionStreams.delete(sessionId);
    };
  }

  async connect(channelId: number, agentId: number): Promise<number> {
    const [row] = await this.db.insert(liveChatPresences).values({ channelId, agentId, instanceId: this.instanceId }).returning({ id: liveChatPresences.id });
    this.operators.set(row!.id, { channelId, agentId });
    return row!.id;
  }

  async disconnect(presenceId: number): Promise<void> {
    this.operators.delete(presenceId);
    await this.db.delete(liveChatPresences).where(and(eq(liveChatPresences.id, presenceId), eq(liveChatPresences.instanceId, this.instanceId)));
  }

  /**
   * A visitor opened a stream of its session: seen now (when it waits), and at every heartbeat
   * while one is open. Returns the function that says the stream ended.
   */
  async visitorConnected(sessionId: number, waiting: boolean): Promise<() => void> {
    this.visitors.set(sessionId, (this.visitors.get(sessionId) ?? 0) + 1);
    let open = true;
    const release = () => {
      if (!open) return;
      open = false;
      const left = (this.visitors.get(sessionId) ?? 1) - 1;
      if (left > 0) this.visitors.set(sessionId, left);
      else this.visitors.delete(sessionId);
    };
    // Only a waiting session is ever closed for its visitor's absence; an open one that goes
    // back to the line is seen at the next heartbeat.
    if (!waiting) return release;
    try {
      await this.db.update(liveChatSessions).set({ visitorSeenAt: sql`now()` }).where(and(eq(liveChatSessions.id, sessionId), eq(liveChatSessions.status, 'WAITING')));
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.operators.clear();
    this.visitors.clear();
    this.sessionStreams.clear();
    await this.db.delete(liveChatPresences).where(eq(liveChatPresences.instanceId, this.instanceId));
  }
}

// One tracker per running instance, found from the event hub every resolver context carries.
const trackers = new WeakMap<EventHub, PresenceTracker>();

export function setPresenceTracker(events: EventHub, tracker: PresenceTracker): void {
  trackers.set(events, tracker);
}

export function presenceTrackerOf(events: EventHub): PresenceTracker {
  const tracker = trackers.get(events);
  if (!tracker) throw new Error('live chat is not started on this instance');
  return tracker;
}

/** What an operator watching the chat wants at a glance: sessions by state, and operators connected now. */
export async function liveChatFigures(db: DbOrTx): Promise<{ open: number; waiting: number; operatorsOnline: number }> {
  const [row] = await queryRows<{ open: number | string; waiting: number | string; online: number | string }>(
    db,
    sql`select
      (select count(*) from ${liveChatSessions} where status = 'OPEN') as open,
      (select count(*) from ${liveChatSessions} where status = 'WAITING') as waiting,
      (select count(distinct agent_id) from ${liveChatPresences} where heartbeat_at > now() - make_interval(secs => ${PRESENCE_TTL_SECONDS})) as online`,
  );
  return { open: Number(row!.open), waiting: Number(row!.waiting), operatorsOnline: Number(row!.online) };
}

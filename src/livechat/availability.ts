import { inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { defineEvent, notifyEvents, type EventHub } from '../events/hub.js';
import { isConnected } from './presence.js';
import { liveChatChannels, liveChatOperators, liveChatOperatorStatuses } from './tables.js';
import type { LiveChatOfflineBehavior } from './widget-rules.js';

/**
 * Something that may change a channel's availability happened (an operator accepting or not,
 * connecting or leaving, added or removed; the channel switched; its offline behaviour changed);
 * keyed by the channel. It carries no state: each instance reads the channel's availability
 * again, once for all its subscribers. Presence going stale sends nothing: each instance also
 * reads its watched channels at every presence heartbeat.
 */
export const liveChatAvailabilityChanged = defineEvent<number>({
  name: 'liveChatAvailabilityChanged',
  load: async (_db, ids) => new Map(ids.map((id) => [id, id])),
  liveOnly: true,
});

/** Tells every instance to read these channels' availability again (after commit when inside a transaction). */
export async function publishAvailabilityChanged(db: DbOrTx, channelIds: Iterable<number>): Promise<void> {
  const ids = [...new Set(channelIds)];
  if (ids.length) await notifyEvents(db, liveChatAvailabilityChanged, new Map(ids.map((id) => [id, id])));
}

/** The channels an agent operates: those whose availability its status or presence changes. */
export async function channelIdsOfOperator(db: DbOrTx, agentId: number): Promise<number[]> {
  const rows = await db.select({ channelId: liveChatOperators.channelId }).from(liveChatOperators).where(sql`${liveChatOperators.agentId} = ${agentId}`);
  return rows.map((r) => r.channelId);
}

export interface ChannelAvailability {
  available: boolean;
  offlineBehavior: LiveChatOfflineBehavior;
}

/**
 * What LiveChatChannel.available says, for many channels in one query: live chat on, and an
 * operator accepting and connected (perhaps at the cap: a visitor may then wait in line).
 */
export async function availabilityOf(db: DbOrTx, channelIds: number[]): Promise<Map<number, ChannelAvailability>> {
  if (channelIds.length === 0) return new Map();
  const rows = await db
    .select({
      id: liveChatChannels.id,
      offlineBehavior: liveChatChannels.offlineBehavior,
      available: sql<boolean>`${liveChatChannels.enabled} and exists (
        select 1 from ${liveChatOperators} o join ${liveChatOperatorStatuses} s on s.agent_id = o.agent_id
        where o.channel_id = ${liveChatChannels.id} and s.accepting and ${isConnected(sql`o.channel_id`, sql`o.agent_id`)})`.mapWith(Boolean),
    })
    .from(liveChatChannels)
    .where(inArray(liveChatChannels.id, channelIds));
  return new Map(rows.map((r) => [r.id, { available: r.available, offlineBehavior: r.offlineBehavior }]));
}

type Listener = (state: ChannelAvailability) => void;

interface Watched {
  listeners: Set<Listener>;
  last: ChannelAvailability | null;
  stopEvents: () => void;
}

/**
 * One per instance: the channels whose availability its subscribers follow. A channel is read
 * again on each of its events and at every heartbeat (presence going stale is seen there), all
 * watched channels in one query, and each subscriber is told only of changes.
 */
export class AvailabilityWatcher {
  private readonly channels = new Map<number, Watched>();
  private timer: NodeJS.Timeout | null = null;
  private pending = new Set<number>();
  private reading: Promise<void> | null = null;

  constructor(
    private readonly db: DbOrTx,
    private readonly events: EventHub,
    private readonly onError: (err: unknown) => void,
    private readonly heartbeatMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.recheck([...this.channels.keys()]), this.heartbeatMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const watched of this.channels.values()) watched.stopEvents();
    this.channels.clear();
  }

  /** Follows a channel: the listener gets its current state first, then each change. Returns the unsubscribe. */
  async watch(channelId: number, listener: Listener): Promise<() => void> {
    let watched = this.channels.get(channelId);
    if (!watched) {
      watched = { listeners: new Set(), last: null, stopEvents: () => {} };
      this.channels.set(channelId, watched);
      watched.stopEvents = await this.followEvents(channelId);
    }
    watched.listeners.add(listener);
    const current = (await availabilityOf(this.db, [channelId])).get(channelId);
    if (current) {
      watched.last ??= current;
      listener(current);
    }
    return () => {
      const w = this.channels.get(channelId);
      if (!w?.listeners.delete(listener) || w.listeners.size > 0) return;
      this.channels.delete(channelId);
      w.stopEvents();
    };
  }

  private async followEvents(channelId: number): Promise<() => void> {
    const live = (await this.events.subscribeLive(liveChatAvailabilityChanged, { key: channelId }))[Symbol.asyncIterator]();
    let open = true;
    void (async () => {
      while (open) {
        const result = await live.next();
        if (result.done) return;
        // A lost notification may have been a change: read again either way.
        this.recheck([channelId]);
      }
    })().catch(this.onError);
    return () => {
      open = false;
      void live.return?.();
    };
  }

  /** Reads these channels again, coalescing what arrives while a read runs into the next one. */
  private recheck(channelIds: number[]): void {
    for (const id of channelIds) this.pending.add(id);
    if (this.reading || this.pending.size === 0) return;
    this.reading = (async () => {
      while (this.pending.size > 0) {
        const ids = [...this.pending].filter((id) => this.channels.has(id));
        this.pending.clear();
        const states = await availabilityOf(this.db, ids);
        for (const id of ids) {
          const watched = this.channels.get(id);
          const state = states.get(id);
          if (!watched || !state) continue;
          const changed = watched.last === null || watched.last.available !== state.available || watched.last.offlineBehavior !== state.offlineBehavior;
          watched.last = state;
          if (changed) for (const listener of watched.listeners) listener(state);
        }
      }
    })()
      .catch(this.onError)
      .finally(() => {
        this.reading = null;
        if (this.pending.size > 0) this.recheck([]);
      });
  }
}

const watchers = new WeakMap<EventHub, AvailabilityWatcher>();

export function setAvailabilityWatcher(events: EventHub, watcher: AvailabilityWatcher): void {
  watchers.set(events, watcher);
}

export function availabilityWatcherOf(events: EventHub): AvailabilityWatcher {
  const watcher = watchers.get(events);
  if (!watcher) throw new Error('live chat is not started on this instance');
  return watcher;
}

import { randomUUID } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import { liveChatPresences } from './tables.js';

/** How often an instance refreshes its operators' presence rows. */
export const PRESENCE_HEARTBEAT_MS = 15_000;
/** A row not refreshed for this long belongs to a dead instance: the operator counts as gone. */
export const PRESENCE_TTL_SECONDS = 45;

/** SQL condition: the operator has a live presence row for the channel. */
export const isConnected = (channelId: unknown, agentId: unknown) => sql`exists (
  select 1 from ${liveChatPresences} p
  where p.channel_id = ${channelId} and p.agent_id = ${agentId}
    and p.heartbeat_at > now() - make_interval(secs => ${PRESENCE_TTL_SECONDS}))`;

/**
 * This instance's open operator subscriptions, kept in PostgreSQL so every instance sees them.
 * A heartbeat refreshes them; a killed instance stops refreshing and its rows expire.
 */
export class PresenceTracker {
  readonly instanceId = randomUUID();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: DbOrTx,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.beat().catch(this.onError), PRESENCE_HEARTBEAT_MS);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    await this.db.update(liveChatPresences).set({ heartbeatAt: sql`now()` }).where(eq(liveChatPresences.instanceId, this.instanceId));
    await this.db.delete(liveChatPresences).where(lt(liveChatPresences.heartbeatAt, sql`now() - make_interval(secs => ${PRESENCE_TTL_SECONDS * 2})`));
  }

  async connect(channelId: number, agentId: number): Promise<number> {
    const [row] = await this.db.insert(liveChatPresences).values({ channelId, agentId, instanceId: this.instanceId }).returning({ id: liveChatPresences.id });
    return row!.id;
  }

  async disconnect(presenceId: number): Promise<void> {
    await this.db.delete(liveChatPresences).where(and(eq(liveChatPresences.id, presenceId), eq(liveChatPresences.instanceId, this.instanceId)));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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

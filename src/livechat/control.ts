import { sql } from 'drizzle-orm';
import type { Database, DbOrTx } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import type { Logger } from '../log.js';

/**
 * Signals that end streams: a session ended (closed or removed), or agents stopped being
 * operators of a channel. They travel on their own NOTIFY channel, sent inside the transaction
 * that made the change, so every instance hears them once it committed. They are not events a
 * client subscribes to: the streams of the chat listen for the ones that concern them.
 */
const CONTROL_CHANNEL = 'intake_chat_control';

export type ChatControlSignal = { kind: 'sessionEnded'; sessionId: number } | { kind: 'operatorsRemoved'; channelId: number; agentIds: number[] };

const keyOf = (signal: ChatControlSignal) => (signal.kind === 'sessionEnded' ? `session:${signal.sessionId}` : `channel:${signal.channelId}`);

/** Sends the signal when the transaction commits (NOTIFY waits for the commit). */
export async function sendControlSignal(tx: DbOrTx, signal: ChatControlSignal): Promise<void> {
  await tx.execute(sql`select pg_notify(${CONTROL_CHANNEL}, ${JSON.stringify(signal)})`);
}

/** One per instance: LISTENs once and hands each signal to the local streams it concerns. */
export class ControlRelay {
  private readonly listeners = new Map<string, Set<(signal: ChatControlSignal) => void>>();
  private stopListening: (() => Promise<void>) | null = null;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.database.listen(CONTROL_CHANNEL, (payload) => this.dispatch(payload));
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = null;
    this.listeners.clear();
  }

  /** Calls `receive` on the end of this session; returns the function that stops listening. */
  onSessionEnded(sessionId: number, receive: () => void): () => void {
    return this.listen(`session:${sessionId}`, receive);
  }

  /** Calls `receive` when this agent stops being an operator of the channel. */
  onOperatorRemoved(channelId: number, agentId: number, receive: () => void): () => void {
    return this.listen(`channel:${channelId}`, (signal) => {
      if (signal.kind === 'operatorsRemoved' && signal.agentIds.includes(agentId)) receive();
    });
  }

  private listen(key: string, receive: (signal: ChatControlSignal) => void): () => void {
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(receive);
    return () => {
      set.delete(receive);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  private dispatch(payload: string): void {
    let signal: ChatControlSignal;
    try {
      signal = JSON.parse(payload) as ChatControlSignal;
    } catch {
      this.log.warn('ignored malformed live chat control signal', { payload });
      return;
    }
    for (const receive of this.listeners.get(keyOf(signal)) ?? []) receive(signal);
  }
}

// One relay per running instance, found from the event hub every resolver context carries.
const relays = new WeakMap<EventHub, ControlRelay>();

export function setControlRelay(events: EventHub, relay: ControlRelay): void {
  relays.set(events, relay);
}

export function controlRelayOf(events: EventHub): ControlRelay {
  const relay = relays.get(events);
  if (!relay) throw new Error('live chat is not started on this instance');
  return relay;
}

import { sql } from 'drizzle-orm';
import type { Database, DbOrTx } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import type { Logger } from '../log.js';
import { NotifyRelay } from './notify-relay.js';

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
export class ControlRelay extends NotifyRelay<string, ChatControlSignal> {
  constructor(database: Database, log: Logger) {
    super(database, log, CONTROL_CHANNEL, keyOf);
  }

  /** Calls `receive` on the end of this session; returns the function that stops listening. */
  onSessionEnded(sessionId: number, receive: () => void): () => void {
    return this.listenTo(`session:${sessionId}`, receive);
  }

  /** Calls `receive` when this agent stops being an operator of the channel. */
  onOperatorRemoved(channelId: number, agentId: number, receive: () => void): () => void {
    return this.listenTo(`channel:${channelId}`, (signal) => {
      if (signal.kind === 'operatorsRemoved' && signal.agentIds.includes(agentId)) receive();
    });
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

import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';

/**
 * One per instance and NOTIFY channel: LISTENs once and hands each message to the local
 * listeners of its key (a session, a channel), so a message costs one lookup, not a scan.
 */
export class NotifyRelay<Key, Message> {
  private readonly listeners = new Map<Key, Set<(message: Message) => void>>();
  private stopListening: (() => Promise<void>) | null = null;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly channel: string,
    private readonly keyOf: (message: Message) => Key,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.database.listen(this.channel, (payload) => this.dispatch(payload));
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = null;
    this.listeners.clear();
  }

  /** Calls `receive` with each message of the key until the returned function is called. */
  protected listenTo(key: Key, receive: (message: Message) => void): () => void {
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(receive);
    return () => {
      set.delete(receive);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  /** Listeners open on this instance: tests wait for it to rise before they publish. */
  activeListeners(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  private dispatch(payload: string): void {
    let message: Message;
    try {
      message = JSON.parse(payload) as Message;
    } catch {
      this.log.warn('ignored a malformed notification', { channel: this.channel, payload });
      return;
    }
    for (const receive of this.listeners.get(this.keyOf(message)) ?? []) receive(message);
  }
}

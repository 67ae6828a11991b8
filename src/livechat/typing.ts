import { sql } from 'drizzle-orm';
import { queryRows, type Database, type DbOrTx } from '../db/client.js';
import { liveChatSessions, liveChatTypingMarks } from './tables.js';
import type { EventHub } from '../events/hub.js';
import type { Logger } from '../log.js';
import { NotifyRelay } from './notify-relay.js';

/** Typing indicators travel on their own NOTIFY channel: live only, never in the event log. */
const TYPING_CHANNEL = 'intake_chat_typing';

export interface TypingEvent {
  sessionId: number;
  authorKind: 'VISITOR' | 'OPERATOR';
  name: string;
  typing: boolean;
}

/** Indicators of one author in one session reach the others at most this often. */
const TYPING_INTERVAL = '1 second';

/**
 * Sends an indicator unless the session is closed, in one statement: the author's mark moves only
 * when its last indicator is a second old or more, and only then is the indicator notified; a
 * call in between is accepted and dropped. Returns whether the session was open.
 */
export async function publishTyping(db: DbOrTx, event: TypingEvent, author: string): Promise<{ open: boolean; sent: boolean }> {
  const rows = await queryRows<{ open: number; sent: number }>(
    db,
    sql`with open_session as (
          select id from ${liveChatSessions} where id = ${event.sessionId} and status <> 'CLOSED'
        ), mark as (
          insert into ${liveChatTypingMarks} as m (session_id, author, sent_at)
          select id, ${author}, clock_timestamp() from open_session
          on conflict (session_id, author) do update set sent_at = excluded.sent_at
          where m.sent_at <= excluded.sent_at - interval '${sql.raw(TYPING_INTERVAL)}'
          returning session_id
        )
        select (select count(*) from open_session)::int as open,
               (select count(pg_notify(${TYPING_CHANNEL}, ${JSON.stringify(event)})) from mark)::int as sent`,
  );
  return { open: Number(rows[0]?.open ?? 0) > 0, sent: Number(rows[0]?.sent ?? 0) > 0 };
}

/** One per instance: LISTENs once and hands each indicator to the local subscribers of its session. */
export class TypingRelay extends NotifyRelay<number, TypingEvent> {
  constructor(database: Database, log: Logger) {
    super(database, log, TYPING_CHANNEL, (event) => event.sessionId);
  }

  /** Calls `receive` with each indicator of the session until the returned function is called. */
  listen(sessionId: number, receive: (event: TypingEvent) => void): () => void {
    return this.listenTo(sessionId, receive);
  }

  /** Typing subscriptions open on this instance: tests wait for it to rise before they publish. */
  activeSubscriptions(): number {
    return this.activeListeners();
  }
}

// One relay per running instance, found from the event hub every resolver context carries.
const relays = new WeakMap<EventHub, TypingRelay>();

export function setTypingRelay(events: EventHub, relay: TypingRelay): void {
  relays.set(events, relay);
}

export function typingRelayOf(events: EventHub): TypingRelay {
  const relay = relays.get(events);
  if (!relay) throw new Error('live chat is not started on this instance');
  return relay;
}

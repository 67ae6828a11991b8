import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import type { Viewer } from '../auth/service.js';
import type { MessageOrigin } from '../tickets/tables.js';

/** What every resolver receives, over HTTP, SSE and WebSocket alike. */
export interface Context {
  db: Db;
  config: Config;
  events: EventHub;
  /** The authenticated caller, or null for an anonymous one. */
  viewer: Viewer | null;
  /** A live chat visitor's token: that session only (src/livechat/access.ts decides). */
  visitor?: { sessionId: number } | null;
  /** Who is on the other end, as public submissions record it. */
  client: MessageOrigin;
}

import type { Principal } from '../auth/principal.js';
import type { Authenticator } from '../auth/service.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import type { MessageOrigin } from '../tickets/tables.js';

/** What every resolver receives, over HTTP, SSE and WebSocket alike. */
export interface Context {
  db: Db;
  config: Config;
  events: EventHub;
  /** Base of the links the API hands out (pages, attachments): PUBLIC_URL, or where the app listens. */
  publicUrl: string;
  /** Who is calling: admin, agent, chat visitor or anonymous. */
  principal: Principal;
  /** Resolves tokens; revoking one evicts it here, and it holds the scopes' per-object lookups. */
  auth: Authenticator;
  /** Who is on the other end, as public submissions record it. */
  client: MessageOrigin;
  /** The caller's ISO country code when known (trusted proxy header, else the offline address table); read on first call. */
  visitorCountry(): string | null;
}

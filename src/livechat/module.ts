import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import type { Logger } from '../log.js';
import { onTeamWrite } from '../teams/service.js';
import { syncChannelWithTeam } from './channels.js';
import { CHAT_MESSAGE_ADDED, CHAT_TYPING, LIVE_CHAT_SESSION_CHANGED } from './events.js';
import { findMessage } from './messages.js';
import { PresenceTracker, setPresenceTracker } from './presence.js';
import { pruneRateCounters } from './ratelimit.js';
import { findSession, sweepLiveChatSessions } from './sessions.js';

/** Team switches create and disable channels, inside the team's transaction. */
export function registerLiveChatHooks(): void {
  onTeamWrite(syncChannelWithTeam);
}

/**
 * Starts live chat on one instance: event loaders, operator presence with its heartbeat, and
 * the job that closes idle sessions and removes empty ones. Returns its stop function.
 */
export function startLiveChat(deps: { config: Config; database: Database; events: EventHub; log: Logger }): () => Promise<void> {
  const { config, database, events, log } = deps;
  const { db } = database;
  events.register(CHAT_MESSAGE_ADDED, (id) => findMessage(db, id));
  events.register(LIVE_CHAT_SESSION_CHANGED, (id) => findSession(db, id));
  // Typing is not stored: the event itself carries it, subscribers read it from there.
  events.register(CHAT_TYPING, async () => true);
  const presence = new PresenceTracker(db, (err) => log.error('live chat presence heartbeat failed', { err }));
  presence.start();
  setPresenceTracker(events, presence);
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = setInterval(() => {
    sweeping = (async () => {
      try {
        const result = await sweepLiveChatSessions(db, config.liveChat);
        if (result.closed || result.removed) log.info('live chat sweep', result);
        await pruneRateCounters(db);
      } catch (err) {
        log.error('live chat sweep failed', { err });
      }
    })();
  }, config.liveChat.sweepIntervalMs);
  sweep.unref();
  return async () => {
    clearInterval(sweep);
    await sweeping;
    await presence.stop();
  };
}

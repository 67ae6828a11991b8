import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import type { Logger } from '../log.js';
import { onTeamWrite } from '../teams/service.js';
import { isOperatorOf, syncChannelWithTeam } from './channels.js';
import type { ScopeLookups } from '../auth/principal.js';
import type { DbOrTx } from '../db/client.js';
import { chatMessageAdded, liveChatSessionChanged } from './events.js';
import { PresenceTracker, setPresenceTracker } from './presence.js';
import { pruneRateCounters } from './ratelimit.js';
import { sweepLiveChatSessions } from './sessions.js';
import { setTypingRelay, TypingRelay } from './typing.js';

/** Team switches create and disable channels, inside the team's transaction. */
export function registerLiveChatHooks(): void {
  onTeamWrite(syncChannelWithTeam);
}

/** The Authenticator's operatorOf lookup: whether an agent operates a channel. */
export function liveChatScopeLookups(db: DbOrTx): ScopeLookups {
  return { isOperator: (agentId, channelId) => isOperatorOf(db, channelId, agentId) };
}

/**
 * Starts live chat on one instance: event loaders, operator presence with its heartbeat, and
 * typing relay, and the job that closes idle sessions and removes empty ones. Call before the
 * hub starts; returns its stop function.
 */
export async function startLiveChat(deps: { config: Config; database: Database; events: EventHub; log: Logger }): Promise<() => Promise<void>> {
  const { config, database, events, log } = deps;
  const { db } = database;
  events.register(chatMessageAdded, liveChatSessionChanged);
  const typing = new TypingRelay(database, log);
  await typing.start();
  setTypingRelay(events, typing);
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
    await typing.stop();
  };
}

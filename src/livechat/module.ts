import type { AppModule } from '../app-module.js';
import { deleteExpiredVisitorTokens } from '../auth/service.js';
import { AvailabilityWatcher, liveChatAvailabilityChanged, setAvailabilityWatcher } from './availability.js';
import { isOperatorOf, syncChannelWithTeam } from './channels.js';
import { chatMessageAdded, liveChatSessionChanged, visitorSessionChanged } from './events.js';
import './graphql.js';
import { ControlRelay, setControlRelay } from './control.js';
import { metricsOf } from '../observability/metrics.js';
import { liveChatFigures, PresenceTracker, setPresenceTracker } from './presence.js';
import { pruneRateCounters } from './ratelimit.js';
import { sweepLiveChatSessions } from './sessions.js';
import { finishPausedChatbotInputs } from './chatbot-runtime.js';
import { setTypingRelay, TypingRelay } from './typing.js';
import { WIDGET_ROUTES } from './widget-routes.js';

/**
 * Live chat: its events, the team hook that keeps a team's channel in step with its switch, the
 * operatorOf scope's lookup, the sweep that closes idle sessions and removes empty ones, and the
 * services with a lifetime of their own (operator presence with its heartbeat, the typing relay),
 * and the browser side: the widget's loader and script, and the direct-link page.
 */
export const liveChatModule: AppModule = {
  name: 'livechat',
  events: [chatMessageAdded, liveChatSessionChanged, visitorSessionChanged, liveChatAvailabilityChanged],
  teamWriteHooks: [syncChannelWithTeam],
  routes: WIDGET_ROUTES,
  scopeLookups: (db) => ({ isOperator: (agentId, channelId) => isOperatorOf(db, channelId, agentId) }),
  jobs: [
    {
      name: 'live chat sweep',
      intervalMs: (config) => config.liveChat.sweepIntervalMs,
      async run({ db, config, log }) {
        const result = await sweepLiveChatSessions(db, config.liveChat);
        if (result.closed || result.removed) log.info('live chat sweep', result);
        await pruneRateCounters(db);
        await deleteExpiredVisitorTokens(db, config.liveChat.visitorTokenDays);
        // Chatbot pauses a lost timer left (a restart): the deadline is in the session row.
        await finishPausedChatbotInputs(db, config.liveChat);
      },
    },
  ],
  async start({ config, database, events, log }) {
    const metrics = metricsOf(database.db);
    if (metrics) {
      // One query per scrape serves both gauges (prom-client collects them side by side).
      let reading: Promise<Awaited<ReturnType<typeof liveChatFigures>>> | null = null;
      const read = () => (reading ??= liveChatFigures(database.db).finally(() => (reading = null)));
      const onError = (err: unknown) => log.error('reading live chat figures failed', { err });
      metrics.gaugeFromReading('livechat_sessions', 'Live chat sessions by state (open: with an operator; waiting: in line).', ['state'], async () => {
        const figures = await read();
        return [
          { labels: { state: 'open' }, value: figures.open },
          { labels: { state: 'waiting' }, value: figures.waiting },
        ];
      }, onError);
      metrics.gaugeFromReading('livechat_operators_online', 'Operators with a chat stream open on any instance.', [], async () => [{ value: (await read()).operatorsOnline }], onError);
    }
    const typing = new TypingRelay(database, log);
    await typing.start();
    setTypingRelay(events, typing);
    const control = new ControlRelay(database, log);
    await control.start();
    setControlRelay(events, control);
    const presence = new PresenceTracker(database.db, (err) => log.error('live chat presence heartbeat failed', { err }), config.liveChat.presenceHeartbeatMs);
    presence.start();
    setPresenceTracker(events, presence);
    const availability = new AvailabilityWatcher(database.db, events, (err) => log.error('live chat availability check failed', { err }), config.liveChat.presenceHeartbeatMs);
    availability.start();
    setAvailabilityWatcher(events, availability);
    return async () => {
      availability.stop();
      await presence.stop();
      await typing.stop();
      await control.stop();
    };
  },
};

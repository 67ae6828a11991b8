import { Repeater } from 'graphql-yoga';
import type { Context } from '../graphql/context.js';
import { liveChatSessionRemoved } from './events.js';
import { presenceTrackerOf } from './presence.js';
import type { LiveChatSessionRow } from './assignment.js';
import { findSession } from './sessions.js';

/**
 * What every stream of one session shares, around the stream itself:
 * - it ends when the session is removed (the sweep's empty-session clean-up);
 * - while a visitor holds it, the visitor counts as there (a waiting visitor is not idle),
 *   through the instance's presence heartbeat.
 */
export function sessionStreamLifetime<T>(ctx: Context, session: LiveChatSessionRow, visitor: boolean, stream: AsyncIterable<T>): AsyncIterable<T> {
  const sessionId = session.id;
  return new Repeater<T>(async (push, stop) => {
    const removal = (await ctx.events.subscribeLive(liveChatSessionRemoved, { key: sessionId }))[Symbol.asyncIterator]();
    void (async () => {
      for (;;) {
        const result = await removal.next();
        if (result.done) return;
        // After lost notifications, the table tells whether the session is still there.
        if (!result.value.missed || !(await findSession(ctx.db, sessionId))) return stop();
      }
    })().catch((err) => stop(err));
    const release = visitor ? await presenceTrackerOf(ctx.events).visitorConnected(sessionId, session.status === 'WAITING').catch((err) => (stop(err), null)) : null;
    const inner = stream[Symbol.asyncIterator]();
    const stopped = stop.then(() => ({ done: true, value: undefined }) as const);
    const pump = (async () => {
      for (;;) {
        const result = await Promise.race([inner.next(), stopped]);
        if (result.done) return;
        await push(result.value);
      }
    })();
    pump.then(
      () => stop(),
      (err) => stop(err),
    );
    await stop;
    release?.();
    await removal.return?.();
    await inner.return?.();
  });
}

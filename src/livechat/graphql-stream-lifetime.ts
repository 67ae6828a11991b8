import { Repeater } from 'graphql-yoga';
import type { Context } from '../graphql/context.js';
import type { LiveChatSessionRow } from './assignment.js';
import { presenceTrackerOf } from './presence.js';

/**
 * What every stream of one session shares, around the stream itself, kept by the instance's
 * presence heartbeat (no event subscription of its own, so an idle stream costs one map entry):
 * - it ends when the session is removed (the sweep's empty-session clean-up), at the next beat;
 * - while a visitor holds it, the visitor counts as there (a waiting visitor is not idle).
 */
export function sessionStreamLifetime<T>(ctx: Context, session: LiveChatSessionRow, visitor: boolean, stream: AsyncIterable<T>): AsyncIterable<T> {
  return new Repeater<T>(async (push, stop) => {
    const tracker = presenceTrackerOf(ctx.events);
    const closeTracking = tracker.sessionStreamOpened(session.id, () => stop());
    const release = visitor ? await tracker.visitorConnected(session.id, session.status === 'WAITING').catch((err) => (stop(err), null)) : null;
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
    closeTracking();
    release?.();
    await inner.return?.();
  });
}

import type { Context } from '../graphql/context.js';
import { endable } from '../events/endable.js';
import type { LiveChatSessionRow } from './tables.js';
import { presenceTrackerOf } from './presence.js';

/**
 * What every stream of one session shares, around the stream itself, kept by the instance's
 * presence heartbeat (no event subscription of its own, so an idle stream costs one map entry):
 * - it ends when the session is removed (the sweep's empty-session clean-up), at the next beat;
 * - while a visitor holds it, the visitor counts as there (a waiting visitor is not idle).
 * A pass-through (`endable`), not a Repeater: thousands of idle visitors each hold one.
 */
export function sessionStreamLifetime<T>(ctx: Context, session: LiveChatSessionRow, visitor: boolean, stream: AsyncIterable<T>): AsyncIterable<T> {
  const tracker = presenceTrackerOf(ctx.events);
  let closeTracking = () => {};
  let release: (() => void) | null = null;
  let ended = false;
  const lifetime = endable(stream, {
    // The first read waits until a waiting visitor is marked present.
    start: () => {
      closeTracking = tracker.sessionStreamOpened(session.id, () => lifetime.end());
      if (!visitor) return;
      return tracker.visitorConnected(session.id, session.status === 'WAITING').then((releaseVisitor) => {
        if (ended) releaseVisitor();
        else release = releaseVisitor;
      });
    },
    end: () => {
      ended = true;
      closeTracking();
      release?.();
    },
  });
  return lifetime;
}

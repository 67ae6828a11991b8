import { GraphQLError, type ExecutionResult } from 'graphql';
import { isAsyncIterable, Repeater, type Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/principal.js';
import type { Authenticator } from '../auth/service.js';
import type { Context } from '../graphql/context.js';

/** The last event of a stream whose token was revoked: over SSE it is all the client learns. */
export function revokedTokenResult(): ExecutionResult {
  return {
    errors: [new GraphQLError('Token revoked: this stream has ended. Subscribe again with a valid token.', { extensions: { code: 'UNAUTHENTICATED' } })],
  };
}

/**
 * The events of `source` until the principal's token is revoked: then one error result, and
 * the end. The source is returned (its subscription dropped) whichever side ends first.
 */
function untilRevoked<T>(source: AsyncIterable<T>, auth: Authenticator, principal: Principal, last: T): Repeater<T> {
  return new Repeater<T>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    const unwatch = auth.watchRevocation(principal, () => {
      push(last).catch(() => {});
      stop();
    });
    const stopped = stop.then((): IteratorResult<T> => ({ done: true, value: undefined }));
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next.done) break;
        await push(next.value);
      }
    } finally {
      unwatch();
      stop();
      await iterator.return?.();
    }
  });
}

/**
 * Subscriptions of both transports (SSE and graphql-ws) end when the token they were opened with
 * is revoked (see Authenticator.watchRevocation).
 */
export function useStreamGuards({ auth }: { auth: Authenticator }): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const principal = args.contextValue.principal;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(untilRevoked(result, auth, principal, revokedTokenResult()));
        },
      };
    },
  };
}

import { GraphQLError, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { tokenKeyOf, type Principal } from '../auth/principal.js';
import type { Authenticator } from '../auth/service.js';
import type { Config } from '../config.js';
import type { Context } from '../graphql/context.js';
import { endable, type EndableStream } from '../events/endable.js';

/** The last event of a stream whose token was revoked: over SSE it is all the client learns. */
export function revokedTokenResult(): ExecutionResult {
  return {
    errors: [new GraphQLError('Token revoked: this stream has ended. Subscribe again with a valid token.', { extensions: { code: 'UNAUTHENTICATED' } })],
  };
}

/**
 * The events of `source` until the principal's token is revoked (then one error result, made
 * then, and the end); `onEnd` runs once, whichever side ends the stream, after the source was returned.
 */
function guarded<T>(source: AsyncIterable<T>, auth: Authenticator, principal: Principal, last: () => T, onEnd: () => void): EndableStream<T> {
  let unwatch = () => {};
  const stream = endable(source, {
    start: () => void (unwatch = auth.watchRevocation(principal, () => stream.end({ value: last() }))),
    end: () => {
      unwatch();
      onEnd();
    },
  });
  return stream;
}

/** Counts open streams per key and admits one more only below the cap. */
class StreamCounter {
  private readonly open = new Map<string, number>();
  constructor(readonly cap: number) {}
  tryTake(key: string): boolean {
    const count = this.open.get(key) ?? 0;
    if (count >= this.cap) return false;
    this.open.set(key, count + 1);
    return true;
  }
  release(key: string): void {
    const left = (this.open.get(key) ?? 1) - 1;
    if (left > 0) this.open.set(key, left);
    else this.open.delete(key);
  }
}

function tooMany(message: string, overHttp: boolean): ExecutionResult {
  // Over SSE the refusal is the HTTP status too; graphql-ws has no status to give.
  return { errors: [new GraphQLError(message, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', ...(overHttp ? { http: { status: 429 } } : {}) } })] };
}

/**
 * Subscriptions of both transports end when the token they were opened with is revoked (see
 * Authenticator.watchRevocation), and are capped as a public endpoint needs: SSE streams per
 * client address (graphql-ws caps sockets per address and operations per socket itself), and
 * subscriptions per token over both, so one token anyone can get (a chat visitor's) cannot
 * open thousands. Without a token, a subscription that is not public is refused by its auth
 * scopes at once: no anonymous stream stays open.
 */
export function useStreamGuards({ auth, config }: { auth: Authenticator; config: Pick<Config, 'sseMaxStreamsPerClient' | 'maxSubscriptionsPerToken'> }): Plugin<Context> {
  const perClient = new StreamCounter(config.sseMaxStreamsPerClient);
  const perToken = new StreamCounter(config.maxSubscriptionsPerToken);
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as Context & { socket?: unknown };
      const { principal } = context;
      const overSse = context.socket === undefined;
      const clientKey = overSse ? (context.client.clientAddress ?? 'unknown') : null;
      const tokenKey = tokenKeyOf(principal);
      if (clientKey !== null && !perClient.tryTake(clientKey)) {
        return setResultAndStopExecution(tooMany(`At most ${perClient.cap} event streams may be open from one address: close one first.`, true));
      }
      if (tokenKey !== null && !perToken.tryTake(tokenKey)) {
        if (clientKey !== null) perClient.release(clientKey);
        return setResultAndStopExecution(tooMany(`At most ${perToken.cap} subscriptions may be open with one token: close one first.`, overSse));
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        if (clientKey !== null) perClient.release(clientKey);
        if (tokenKey !== null) perToken.release(tokenKey);
      };
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(guarded(result, auth, principal, revokedTokenResult, release));
          else release();
        },
      };
    },
  };
}

import { describe, expect, it } from 'vitest';
import { endable } from '../../src/events/endable.js';

/** A source that yields what the test gives it, and says when it was returned. */
function source() {
  const values: number[] = [];
  let wake: (() => void) | null = null;
  const { promise: returned, resolve: markReturned } = Promise.withResolvers<void>();
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        while (values.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        return { done: false, value: values.shift()! };
      },
      async return() {
        markReturned();
        wake?.();
        return { done: true, value: undefined };
      },
    }),
  };
  return { iterable, returned, give: (value: number) => (values.push(value), wake?.()) };
}

describe('endable', () => {
  it('passes values through; ended while a read waits, that read gets the last value, then done; the source is returned before the end hook', async () => {
    const s = source();
    const order: string[] = [];
    void s.returned.then(() => order.push('source returned'));
    const stream = endable(s.iterable, { end: () => void order.push('end hook') });
    s.give(1);
    expect(await stream.next()).toEqual({ done: false, value: 1 });
    const waiting = stream.next();
    stream.end({ value: 99 });
    expect(await waiting).toEqual({ done: false, value: 99 });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    await s.returned;
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['source returned', 'end hook']);
  });

  it('ended with an error while nobody reads: the next read fails with it, later ones are done', async () => {
    const s = source();
    const stream = endable(s.iterable);
    s.give(1);
    await stream.next();
    stream.end({ error: new Error('gone') });
    await expect(stream.next()).rejects.toThrow('gone');
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('the start hook runs on the first read, which waits for it; return() ends a waiting read and runs the end hook once', async () => {
    const s = source();
    const calls: string[] = [];
    const { promise: started, resolve: finishStart } = Promise.withResolvers<void>();
    const stream = endable(s.iterable, { start: () => (calls.push('start'), started), end: () => void calls.push('end') });
    expect(calls).toEqual([]);
    const first = stream.next();
    expect(calls).toEqual(['start']);
    s.give(7);
    finishStart();
    expect(await first).toEqual({ done: false, value: 7 });
    const waiting = stream.next();
    await stream.return();
    expect(await waiting).toEqual({ done: true, value: undefined });
    await stream.return();
    expect(calls).toEqual(['start', 'end']);
  });
});

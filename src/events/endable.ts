/** How an endable stream ends: quietly, with one last value, or with an error. */
export type StreamEnd<T> = { value: T } | { error: unknown } | null;

export interface EndableHooks {
  /** Runs on the first read, before the source is opened; the read waits for it, and it failing fails the stream. */
  start?(): void | Promise<unknown>;
  /** Runs once when the stream ended, whichever side ended it, after the source was returned. */
  end?(): unknown;
}

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });

/** The reader's pending read, settled by the source or by `end`, whichever comes first. */
class Read<T> {
  constructor(
    readonly resolve: (result: IteratorResult<T>) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  settle(end: StreamEnd<T>) {
    if (end === null) this.resolve(DONE);
    else if ('error' in end) this.reject(end.error);
    else this.resolve({ done: false, value: end.value });
  }
}

/**
 * A source's values until `end` is called or the reader returns; then the source is returned and
 * the `end` hook runs, once. A thin pass-through for a stream that must be ended from outside (a
 * revoked token, a removed session). Thousands of idle streams each hold one, so it is a class
 * (its methods shared, not closures of every stream) and an idle one holds its pending read and
 * little else, where a Repeater around the source holds its executor, a pump and their promises.
 */
export class EndableStream<T> implements AsyncIterableIterator<T> {
  private inner: AsyncIterator<T> | null = null;
  /** The start hook, until it has finished. */
  private starting: Promise<unknown> | null = null;
  private finished = false;
  /** What the next read gets once finished: the last value or error `end` was given. */
  private last: StreamEnd<T> = null;
  private reading: Read<T> | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly source: AsyncIterable<T>,
    private readonly hooks: EndableHooks = {},
  ) {}

  next(): Promise<IteratorResult<T>> {
    if (this.finished) {
      const last = this.last;
      this.last = null;
      if (last === null) return Promise.resolve(DONE);
      return 'error' in last ? Promise.reject(last.error) : Promise.resolve({ done: false, value: last.value });
    }
    if (!this.inner) {
      try {
        const started = this.hooks.start?.();
        if (started) this.starting = started.then(() => (this.starting = null));
      } catch (err) {
        this.starting = Promise.reject(err);
      }
      this.inner = this.source[Symbol.asyncIterator]();
    }
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      const read = new Read(resolve, reject);
      this.reading = read;
      const inner = this.inner!;
      (this.starting ? this.starting.then(() => (this.finished ? DONE : inner.next())) : inner.next()).then(
        (result) => {
          if (this.reading !== read) return; // ended meanwhile: `end` settled the read
          this.reading = null;
          if (result.done) this.finish();
          resolve(result);
        },
        (err) => {
          if (this.reading !== read) return;
          this.reading = null;
          this.finish();
          reject(err);
        },
      );
    });
  }

  async return(): Promise<IteratorResult<T>> {
    this.end();
    this.last = null;
    await this.close();
    return DONE;
  }

  async throw(err?: unknown): Promise<IteratorResult<T>> {
    this.end();
    this.last = null;
    await this.close();
    throw err;
  }

  /** Ends the stream: a pending or the next read gets `last` (if any), every later read is done. */
  end(last: StreamEnd<T> = null): void {
    if (this.finished) return;
    const read = this.reading;
    this.reading = null;
    if (read) read.settle(last);
    else this.last = last;
    this.finish();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish() {
    this.finished = true;
    void this.close().catch(() => {});
  }

  private close(): Promise<void> {
    return (this.closing ??= (async () => {
      try {
        await this.inner?.return?.();
      } finally {
        await this.hooks.end?.();
      }
    })());
  }
}

export function endable<T>(source: AsyncIterable<T>, hooks?: EndableHooks): EndableStream<T> {
  return new EndableStream(source, hooks);
}

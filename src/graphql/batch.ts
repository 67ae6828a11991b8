import type { GraphQLResolveInfo } from 'graphql';

interface Batch<K, V> {
  keys: K[];
  waiting: Array<{ resolve: (value: V) => void; reject: (error: unknown) => void }>;
}

const openBatches = new WeakMap<object, Map<string, Batch<unknown, unknown>>>();

/**
 * DataLoader-style batching of a per-parent field: the calls one request makes for `name` while a
 * level of the query resolves (the same field of every team in a list) are answered by one
 * `loadMany` call, in key order. Nothing is kept once the batch is answered: a subscription's
 * context lives across many events and must not serve rows read for an earlier one.
 * All calls that share `name` must mean the same `loadMany`.
 */
export function loadInBatch<K, V>(ctx: object, name: string, key: K, loadMany: (keys: K[]) => Promise<V[]>): Promise<V> {
  let batches = openBatches.get(ctx);
  if (!batches) openBatches.set(ctx, (batches = new Map()));
  let batch = batches.get(name) as Batch<K, V> | undefined;
  if (!batch) {
    const opened: Batch<K, V> = { keys: [], waiting: [] };
    batches.set(name, opened as Batch<unknown, unknown>);
    batch = opened;
    const open = batches;
    // After the promise jobs already queued, as DataLoader does: the siblings ask in that time.
    void Promise.resolve().then(() =>
      process.nextTick(() => {
        open.delete(name);
        loadMany(opened.keys).then(
          (values) => opened.waiting.forEach((w, i) => w.resolve(values[i]!)),
          (error: unknown) => opened.waiting.forEach((w) => w.reject(error)),
        );
      }),
    );
  }
  const joined = batch;
  return new Promise<V>((resolve, reject) => {
    joined.keys.push(key);
    joined.waiting.push({ resolve, reject });
  });
}

/** Where a field sits in the query, list positions left out: the same for a field of every item of a list. */
export function fieldPosition(info: GraphQLResolveInfo): string {
  const keys: string[] = [];
  for (let path: GraphQLResolveInfo['path'] | undefined = info.path; path; path = path.prev) {
    if (typeof path.key === 'string') keys.push(path.key);
  }
  return keys.reverse().join('.');
}

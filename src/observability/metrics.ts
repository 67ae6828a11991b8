import { handleSlot, slotValue, withSlotValue, type DbOrTx } from '../db/client.js';
import type { AppMetrics } from './prometheus.js';

export type { AppMetrics, GaugeReading } from './prometheus.js';

/** An app's figures: prom-client is loaded here, only when they are kept (METRICS_PORT set). */
export async function createAppMetrics(maxOperations: number): Promise<AppMetrics> {
  const { AppMetrics } = await import('./prometheus.js');
  return new AppMetrics(maxOperations);
}

const METRICS = handleSlot<AppMetrics>('metrics');

/** A handle that carries the app's metrics into every service and transaction that uses it. */
export function withMetrics<T extends DbOrTx>(db: T, metrics: AppMetrics): T {
  return withSlotValue(db, METRICS, metrics);
}

/** The app's metrics, or undefined when they are off (METRICS_PORT unset). */
export function metricsOf(db: DbOrTx): AppMetrics | undefined {
  return slotValue(db, METRICS);
}

/** The SQLSTATE class of a database error (drizzle wraps the driver's error as `cause`). */
export function sqlStateClassOf(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code.slice(0, 2);
  }
  return 'none';
}

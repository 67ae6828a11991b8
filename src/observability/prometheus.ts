import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';

/** Seconds: from a fast query to a slow page, and for SSE streams and long waits the +Inf bucket. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds a chat visitor waits for an operator's first answer. */
const WAIT_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** What a database-state gauge reads at scrape time: one value per label set. */
export type GaugeReading = Array<{ labels?: LabelValues<string>; value: number }>;

/**
 * The figures of one app, in a registry of its own (two apps in one process keep theirs apart).
 * Edges count into it (the HTTP router, the GraphQL plugin, the SMTP listener, graphql-ws, the
 * event hub, a capability's service where the fact is known only there); database-state gauges
 * are read once per scrape. It exists only when METRICS_PORT is set: elsewhere `metricsOf`
 * answers undefined and counting costs one optional call, and this file (prom-client, which
 * loads @opentelemetry/api for its exemplars) is not even loaded: `createAppMetrics` imports it.
 */
export class AppMetrics {
  readonly registry = new Registry();
  private readonly operationNames = new Set<string>();

  constructor(readonly maxOperations: number) {
    collectDefaultMetrics({ register: this.registry, prefix: 'intake_' });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
    return new Counter<L>({ name: `intake_${name}`, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], options: { aggregator?: 'sum' | 'max' } = {}) {
    return new Gauge<L>({ name: `intake_${name}`, help, labelNames, registers: [this.registry], aggregator: options.aggregator ?? 'sum' });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets = DURATION_BUCKETS) {
    return new Histogram<L>({ name: `intake_${name}`, help, labelNames, buckets, registers: [this.registry] });
  }

  // HTTP and GraphQL
  readonly httpRequests = this.counter('http_requests_total', 'HTTP requests answered, by route and status.', ['method', 'route', 'status']);
  readonly httpDuration = this.histogram('http_request_duration_seconds', 'Time from a request to the end of its answer (an SSE stream counts until it ends).', ['method', 'route']);
  readonly graphqlOperations = this.counter('graphql_operations_total', 'GraphQL operations run (HTTP, SSE and graphql-ws).', ['type', 'name']);
  readonly graphqlDuration = this.histogram('graphql_operation_duration_seconds', 'Execution time of queries and mutations (graphql-jit or graphql-js), and the set-up of subscriptions.', ['type', 'name']);
  readonly graphqlErrors = this.counter('graphql_errors_total', 'GraphQL errors, by extensions.code (unexpected ones as INTERNAL_SERVER_ERROR).', ['type', 'name', 'code']);
  readonly websocketsOpen = this.gauge('websockets_open', 'Open graphql-ws sockets.');
  readonly sseStreamsOpen = this.gauge('sse_streams_open', 'Open subscriptions over SSE.');
  readonly subscriptionsOpen = this.gauge('subscriptions_open', 'Open subscriptions (both transports), by root field.', ['field']);

  // Events
  readonly eventDeliveryLag = this.histogram('event_delivery_lag_seconds', 'Time from a notification reaching the instance to its rows reaching the subscribers.', ['type']);
  readonly listenReconnects = this.counter('event_listen_reconnects_total', 'Times the LISTEN connection came back after it was lost.');

  // Mail intake
  readonly smtpConnections = this.counter('smtp_connections_total', 'SMTP connections accepted.');
  readonly smtpConnectionsOpen = this.gauge('smtp_connections_open', 'Open SMTP connections.');
  readonly mailsAccepted = this.counter('mail_accepted_total', 'Mails acknowledged with 250 (stored).');
  readonly mailBytes = this.counter('mail_accepted_bytes_total', 'Bytes of mail acknowledged with 250.');
  readonly mailsRefused = this.counter('mail_refused_total', 'Permanent refusals (5xx) and connection or recipient limits, by reason.', ['reason']);
  readonly mailsDeferred = this.counter('mail_temporary_failures_total', 'Temporary failures answered 451 (the sender retries), by reason.', ['reason']);
  readonly mailsQuarantined = this.counter('mail_quarantined_total', 'Mail records stored QUARANTINED (one per receiving team).');

  // Website form
  readonly formPosts = this.counter('webform_posts_total', 'Website form submissions received.');
  readonly formRefusals = this.counter('webform_refusals_total', 'Website form submissions refused, by reason.', ['reason']);

  // Live chat
  readonly chatMessages = this.counter('livechat_messages_total', 'Live chat messages stored, by author kind.', ['author']);
  readonly chatFirstAnswer = this.histogram('livechat_first_answer_seconds', "Time from a chat's start to its operator's first answer to the visitor.", [], WAIT_BUCKETS);

  // Outbound mail: the outbox's sender counts here; its module registers the waiting mail and the
  // oldest one's age with gaugeFromReading, and its /readyz check as a readinessCheck.
  readonly outboundSent = this.counter('outbound_sent_total', 'Outbound mails the relay accepted.');
  readonly outboundDeferred = this.counter('outbound_deferred_total', 'Outbound sends that failed for now and will be tried again.');
  readonly outboundFailed = this.counter('outbound_failed_total', 'Outbound mails given up on (a permanent failure, or a day of retries).');

  // SLA
  readonly slaFailed = this.counter('sla_deadlines_failed_total', 'SLA deadlines marked FAILED by the breach watch.');

  // Database
  readonly statementErrors = this.counter('db_statement_errors_total', 'Statements the database refused, by SQLSTATE class (first two characters; "none" without one).', ['class']);

  /**
   * The label of an operation name: itself while the first `maxOperations` names are being seen,
   * `other` after that, `anonymous` without one. Clients choose names: this bounds the series.
   */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= this.maxOperations) return 'other';
    this.operationNames.add(name);
    return name;
  }

  /**
   * A gauge read from the database (or another source) at scrape time. Instances share one
   * database, so with several workers the served figure is the largest worker's, not the sum.
   * A read that fails leaves the gauge empty for that scrape.
   */
  gaugeFromReading(name: string, help: string, labelNames: readonly string[], read: () => Promise<GaugeReading>, onError: (err: unknown) => void): void {
    new Gauge({
      name: `intake_${name}`,
      help,
      labelNames,
      registers: [this.registry],
      aggregator: 'max',
      async collect() {
        this.reset();
        try {
          for (const { labels, value } of await read()) {
            if (labels) this.set(labels, value);
            else this.set(value);
          }
        } catch (err) {
          onError(err);
        }
      },
    });
  }

  /** A gauge the process knows at scrape time (pool figures): summed over workers. */
  gaugeFromValue(name: string, help: string, read: () => number | null): void {
    new Gauge({
      name: `intake_${name}`,
      help,
      registers: [this.registry],
      collect() {
        const value = read();
        if (value === null) this.reset();
        else this.set(value);
      },
    });
  }
}

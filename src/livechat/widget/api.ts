// The widget's way to Intake: GraphQL over HTTP (fetch) and a small graphql-ws client
// (protocol graphql-transport-ws) whose subscriptions re-subscribe after a dropped connection
// with variables read again, so a message stream resumes after its last cursor.

export interface UserError {
  field?: string[] | null;
  code: string;
  message: string;
}

/** A request that never reached an answer (network down, server restarting): worth retrying. */
export class NetworkError extends Error {}

export async function graphqlRequest<T = any>(url: string, query: string, variables: Record<string, unknown>, token?: string | null): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      credentials: 'omit',
    });
  } catch (error) {
    throw new NetworkError(String(error));
  }
  if (response.status >= 500 || response.status === 429) throw new NetworkError(`HTTP ${response.status}`);
  const result = (await response.json().catch(() => null)) as { data?: T; errors?: { message: string }[] } | null;
  if (!result?.data) throw new Error(result?.errors?.[0]?.message ?? `HTTP ${response.status}`);
  return result.data;
}

interface Subscription {
  query: string;
  variables: () => Record<string, unknown>;
  next(data: any): void;
  /** The server refused or ended it; it is not resumed. */
  end?(error?: string): void;
}

/** One WebSocket with its subscriptions; reconnects with a growing pause while any is open. */
export class GraphqlSocket {
  private ws: WebSocket | null = null;
  private acked = false;
  private readonly subscriptions = new Map<string, Subscription>();
  private lastId = 0;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly url: string,
    private readonly params: Record<string, unknown>,
    /** Told when the connection comes and goes (for a "reconnecting" notice). */
    private readonly onState: (connected: boolean) => void = () => {},
  ) {
    addEventListener('online', this.reconnectNow);
  }

  subscribe(subscription: Subscription): () => void {
    const id = String(++this.lastId);
    this.subscriptions.set(id, subscription);
    if (this.acked) this.sendSubscribe(id, subscription);
    else this.connect();
    return () => {
      if (!this.subscriptions.delete(id)) return;
      if (this.acked) this.send({ id, type: 'complete' });
      if (this.subscriptions.size === 0) this.ws?.close(1000);
    };
  }

  dispose() {
    this.disposed = true;
    removeEventListener('online', this.reconnectNow);
    clearTimeout(this.timer);
    this.subscriptions.clear();
    this.ws?.close(1000);
  }

  private readonly reconnectNow = () => {
    if (this.ws || this.disposed || this.subscriptions.size === 0) return;
    clearTimeout(this.timer);
    this.connect();
  };

  private connect() {
    if (this.ws || this.disposed) return;
    const ws = new WebSocket(this.url, 'graphql-transport-ws');
    this.ws = ws;
    ws.onopen = () => this.send({ type: 'connection_init', payload: this.params });
    ws.onmessage = (event) => {
      let message: { type: string; id?: string; payload?: any };
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      const subscription = message.id ? this.subscriptions.get(message.id) : undefined;
      switch (message.type) {
        case 'connection_ack':
          this.acked = true;
          this.failures = 0;
          this.onState(true);
          for (const [id, sub] of this.subscriptions) this.sendSubscribe(id, sub);
          break;
        case 'ping':
          this.send({ type: 'pong' });
          break;
        case 'next':
          if (subscription && message.payload?.data) subscription.next(message.payload.data);
          else if (subscription && message.payload?.errors) this.end(message.id!, message.payload.errors[0]?.message);
          break;
        case 'error':
          this.end(message.id!, message.payload?.[0]?.message ?? 'error');
          break;
        case 'complete':
          this.end(message.id!);
          break;
      }
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const wasAcked = this.acked;
      this.acked = false;
      if (wasAcked) this.onState(false);
      if (this.disposed || this.subscriptions.size === 0) return;
      // 4400–4499: the server refuses these parameters (bad token, origin not allowed): retrying cannot help.
      if (event.code >= 4400 && event.code < 4500 && event.code !== 4408) {
        for (const id of [...this.subscriptions.keys()]) this.end(id, event.reason || `closed ${event.code}`);
        return;
      }
      const pause = Math.min(15_000, 500 * 2 ** this.failures++) * (0.75 + Math.random() / 2);
      this.timer = setTimeout(() => this.connect(), pause);
    };
  }

  private end(id: string, error?: string) {
    const subscription = this.subscriptions.get(id);
    if (!subscription) return;
    this.subscriptions.delete(id);
    subscription.end?.(error);
  }

  private sendSubscribe(id: string, subscription: Subscription) {
    this.send({ id, type: 'subscribe', payload: { query: subscription.query, variables: subscription.variables() } });
  }

  private send(message: unknown) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}

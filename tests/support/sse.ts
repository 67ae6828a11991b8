import { waitFor } from './wait.js';

/** A GraphQL-over-SSE subscription through plain fetch, as a browser or third-party app would open it. */
export function sseSubscribe(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const events: any[] = [];
  let buffer = '';
  const opened = fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const reading = opened.then(async (res) => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (data) events.push(JSON.parse(data));
        }
      }
    } catch {
      // Aborted by close(), or the server ended the stream: either way the stream is over.
    }
  });
  return {
    events,
    response: opened,
    /** Settles when the stream is over: ended by the server, or closed here. */
    ended: reading,
    async waitFor(count: number, ms = 10_000) {
      await waitFor(() => events.length >= count, { timeout: ms, what: `${count} SSE events` });
      return events;
    },
    close() {
      controller.abort();
      return reading.catch(() => {});
    },
  };
}

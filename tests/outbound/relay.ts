import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message the test relay received in full (whatever it then answered). */
export interface RelayedMail {
  raw: string;
  mailFrom: string;
  rcptTo: string[];
  messageId: string | null;
  /** What the relay did with it. */
  answer: RelayAnswer;
}

/** How the relay answers the end of DATA: 250, an SMTP error, dropping the connection unanswered, or holding it. */
export type RelayAnswer = 'accept' | 'drop' | 'hold' | { code: number; message: string };

export interface TestRelay {
  port: number;
  url: string;
  /** Every message received, in order. */
  received: RelayedMail[];
  /** Messages answered 250. */
  accepted(): RelayedMail[];
  /** Decides the answer to the next message (n counts from 0 over all messages received). */
  answer: (mail: { n: number; messageId: string | null }) => RelayAnswer;
  /** Ends the connections held by 'hold', answering 250. */
  release(): void;
  close(): Promise<void>;
}

/** A real SMTP relay for the outbox to send to (smtp-server), answering as the test tells it. */
export async function startRelay(answer: TestRelay['answer'] = () => 'accept'): Promise<TestRelay> {
  const received: RelayedMail[] = [];
  const held: Array<() => void> = [];
  const relay: TestRelay = {
    port: 0,
    url: '',
    received,
    accepted: () => received.filter((m) => m.answer === 'accept'),
    answer,
    release: () => held.splice(0).forEach((go) => go()),
    close: () =>
      new Promise<void>((resolve) => {
        relay.release();
        server.close(() => resolve());
      }),
  };
  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    disableReverseLookup: true,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'relay-user' }),
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const messageId = /^Message-ID:\s*<([^>]+)>/im.exec(raw)?.[1] ?? null;
        const decided = relay.answer({ n: received.length, messageId });
        received.push({ raw, mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', rcptTo: session.envelope.rcptTo.map((r) => r.address), messageId, answer: decided });
        if (decided === 'accept') return callback(null, 'Queued as test');
        if (decided === 'hold') return void held.push(() => callback(null, 'Queued after a while'));
        if (decided === 'drop') {
          // The message is in, the reply never comes: the connection goes down.
          for (const connection of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections) {
            if (connection.id === session.id) connection._socket.destroy();
          }
          return;
        }
        const error = new Error(decided.message) as Error & { responseCode: number };
        error.responseCode = decided.code;
        callback(error);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  relay.port = (server.server.address() as AddressInfo).port;
  relay.url = `smtp://127.0.0.1:${relay.port}`;
  return relay;
}

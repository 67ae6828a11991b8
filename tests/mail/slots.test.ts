import net from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam } from '../support/fixtures.js';
import { MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { smtpDialogue } from '../support/smtp.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    SMTP_MAX_CLIENTS: '50',
    SMTP_MAX_CLIENTS_PER_ADDRESS: '2',
    SMTP_SOCKET_TIMEOUT_MS: '1500',
    SMTP_MAX_IDLE_COMMANDS: '2',
    SMTP_LOOKUP_TIMEOUT_MS: '1000',
  });
});
afterAll(async () => {
  await server?.stop();
});

/** The greeting, or everything the server sent before closing, from a given local address. */
function greetingFrom(localAddress: string): Promise<{ text: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: server.smtpPort, host: '127.0.0.1', localAddress });
    socket.setEncoding('utf8');
    socket.once('data', (text: string) => resolve({ text, socket }));
    socket.once('error', reject);
  });
}

describe('SMTP slots', () => {
  it('limits connections per client address, leaving room for other senders', async () => {
    const first = await greetingFrom('127.0.0.1');
    const second = await greetingFrom('127.0.0.1');
    expect([first.text, second.text]).toEqual([expect.stringMatching(/^220 /), expect.stringMatching(/^220 /)]);
    const third = await greetingFrom('127.0.0.1');
    expect(third.text).toMatch(/^421 4\.7\.0 /);
    const other = await greetingFrom('127.0.0.2');
    expect(other.text).toMatch(/^220 /);

    // A slot freed is a slot the same address gets again (once the server has seen the close).
    first.socket.destroy();
    let again = await greetingFrom('127.0.0.1');
    for (let attempt = 0; attempt < 50 && !again.text.startsWith('220'); attempt++) {
      again.socket.destroy();
      again = await greetingFrom('127.0.0.1');
    }
    expect(again.text).toMatch(/^220 /);
    for (const s of [second.socket, third.socket, other.socket, again.socket]) s.destroy();
  });

  it('does not let NOOP and RSET keep an idle connection open beyond SMTP_MAX_IDLE_COMMANDS', async () => {
    const { socket } = await greetingFrom('127.0.0.2');
    let text = '';
    socket.on('data', (chunk: string) => (text += chunk));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    let open = true;
    void closed.then(() => (open = false));
    socket.write('EHLO client.example\r\n');
    // The client's behaviour under test: a NOOP or RSET well within each idle timeout (1.5 s).
    // Without the limit they would keep the connection open for ever; 20 of them span 10 s.
    let sent = 0;
    for (; sent < 20 && open; sent++) {
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 500))]);
      if (open) socket.write(sent % 2 ? 'RSET\r\n' : 'NOOP\r\n');
    }
    expect(open).toBe(false);
    expect(text).toMatch(/421 .*[Tt]imeout/);
    expect(sent).toBeLessThan(20);
  });

  it('answers RCPT TO with 451 within SMTP_LOOKUP_TIMEOUT_MS while the database does not answer', async () => {
    await createTeam(server, 'Stalled');
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const { promise: isLocked, resolve: locked } = Promise.withResolvers<void>();
    // An exclusive lock on teams stands in for a database that stopped answering.
    const holder = server.app.database.db.transaction(async (tx) => {
      await tx.execute(sql`lock table teams in access exclusive mode`);
      locked();
      await released;
    });
    try {
      await isLocked;
      const smtp = await smtpDialogue(server.smtpPort);
      await smtp.send('EHLO client.example');
      expect(await smtp.send('MAIL FROM:<waiting@sender.example>')).toMatch(/^250/);
      const started = Date.now();
      const answer = await Promise.race([smtp.send(`RCPT TO:<stalled@${MAIL_DOMAIN}>`), new Promise<string>((resolve) => setTimeout(() => resolve('no reply within 5 s'), 5000))]);
      expect(answer).toMatch(/^451 /);
      expect(Date.now() - started).toBeLessThan(4000);
      smtp.close();
    } finally {
      release();
      await holder;
    }
  });
});

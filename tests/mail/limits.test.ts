import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { smtpDialogue } from '../support/smtp.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SMTP_SOCKET_TIMEOUT_MS: '800', SMTP_MAX_CLIENTS: '2' });
});
afterAll(async () => {
  await server?.stop();
});

/** Everything the server sends until it closes the connection. */
function readUntilClosed(socket: net.Socket, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`connection still open after ${ms} ms: ${text}`)), ms);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

describe('listener limits', () => {
  it('closes idle connections after SMTP_SOCKET_TIMEOUT_MS', async () => {
    const socket = net.connect(server.smtpPort, '127.0.0.1');
    const text = await readUntilClosed(socket);
    expect(text).toMatch(/^220 /);
    expect(text).toMatch(/421 .*[Tt]imeout/);
  });

  it('refuses over-long command lines and closes the session', async () => {
    const smtp = await smtpDialogue(server.smtpPort);
    expect(await smtp.send(`EHLO ${'x'.repeat(5000)}`)).toMatch(/^421 .*too long/i);
    smtp.close();
  });

  it('turns away clients beyond SMTP_MAX_CLIENTS', async () => {
    const first = await smtpDialogue(server.smtpPort);
    const second = await smtpDialogue(server.smtpPort);
    const third = net.connect(server.smtpPort, '127.0.0.1');
    expect(await readUntilClosed(third)).toMatch(/^421 /);
    first.close();
    second.close();
  });
});

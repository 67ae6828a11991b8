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

describe('STARTTLS', () => {
  it('is offered once a certificate is configured, and upgrades the session', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const tls = await import('node:tls');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'intake-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const secured = await startTestServer({ SMTP_TLS_KEY: key, SMTP_TLS_CERT: cert });
    try {
      const smtp = await smtpDialogue(secured.smtpPort);
      const ehlo = await smtp.send('EHLO client.example');
      expect(ehlo).toContain('STARTTLS');
      expect(ehlo).not.toContain('AUTH');
      expect(await smtp.send('STARTTLS')).toMatch(/^220 /);
      smtp.close();
      // A real TLS handshake on a fresh connection, as a sending server would do.
      const plain = net.connect(secured.smtpPort, '127.0.0.1');
      const greeted = new Promise<void>((resolve) => plain.once('data', () => resolve()));
      await greeted;
      plain.write('EHLO client.example\r\n');
      await new Promise<void>((resolve) => plain.once('data', () => resolve()));
      plain.write('STARTTLS\r\n');
      await new Promise<void>((resolve) => plain.once('data', () => resolve()));
      const secure = tls.connect({ socket: plain, rejectUnauthorized: false, servername: 'localhost' });
      await new Promise<void>((resolve, reject) => secure.once('secureConnect', () => resolve()).once('error', reject));
      expect(secure.getProtocol()).toMatch(/^TLSv1\.[23]$/);
      secure.destroy();
    } finally {
      await secured.stop();
    }
  });
});

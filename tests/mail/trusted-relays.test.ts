import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** A relay in front of Intake (Postfix opens up to 20 connections per destination) is not one sender. */

let relayed: TestServer;
let plain: TestServer;
beforeAll(async () => {
  // One address and one CIDR block (127.0.0.2 and 127.0.0.3); the per-address limit stays at its default of 10.
  [relayed, plain] = await Promise.all([startTestServer({ SMTP_TRUSTED_RELAYS: '::1, 127.0.0.2/31' }), startTestServer()]);
});
afterAll(async () => {
  await Promise.all([relayed?.stop(), plain?.stop()]);
});

/** The first reply of each of `count` connections opened at once from `localAddress`, all kept open until every one answered. */
async function greetingsAtOnce(port: number, localAddress: string, count: number): Promise<string[]> {
  const sockets: net.Socket[] = [];
  try {
    return await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<string>((resolve, reject) => {
            const socket = net.connect({ port, host: '127.0.0.1', localAddress });
            sockets.push(socket);
            socket.setEncoding('utf8');
            socket.once('data', (text: string) => resolve(text.slice(0, 3)));
            socket.once('error', reject);
          }),
      ),
    );
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

describe('SMTP_TRUSTED_RELAYS', () => {
  it('lets 25 connections at once from a trusted relay address all in', async () => {
    expect(await greetingsAtOnce(relayed.smtpPort, '127.0.0.3', 25)).toEqual(Array(25).fill('220'));
  });

  it('keeps the per-address limit for every other address: the 11th connection gets 421', async () => {
    const untrusted = await greetingsAtOnce(relayed.smtpPort, '127.0.0.5', 11);
    expect(untrusted.filter((code) => code === '220')).toHaveLength(10);
    expect(untrusted.filter((code) => code === '421')).toHaveLength(1);
  });

  it('is empty by default: the same relay address gets 421 on its 11th connection', async () => {
    const codes = await greetingsAtOnce(plain.smtpPort, '127.0.0.3', 25);
    expect(codes.filter((code) => code === '220')).toHaveLength(10);
    expect(codes.filter((code) => code === '421')).toHaveLength(15);
  });

  it('refuses an entry that is neither an address nor a CIDR block at start', () => {
    expect(() => loadConfig({ SMTP_TRUSTED_RELAYS: '10.0.0.0/8, mx.example.com' })).toThrow(/SMTP_TRUSTED_RELAYS must list IP addresses or CIDR blocks.*"mx\.example\.com"/);
    expect(loadConfig({ SMTP_TRUSTED_RELAYS: ' 10.0.0.0/8 ,192.0.2.7' }).smtpTrustedRelays).toEqual(['10.0.0.0/8', '192.0.2.7']);
  });
});

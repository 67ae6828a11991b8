import { describe, expect, it } from 'vitest';
import { clientAddressOf } from '../../src/http/client-address.js';
import { loadConfig } from '../../src/config.js';

const request = (peer: string, forwardedFor?: string) => ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } });

describe('clientAddressOf', () => {
  const proxies = ['10.0.0.0/8', '::1', '192.168.1.7'];
  it.each([
    { case: 'no trusted proxy: the peer, whatever the header says', peer: '10.1.2.3', xff: '203.0.113.5', trusted: [], expected: '10.1.2.3' },
    { case: 'an untrusted peer cannot pick its bucket', peer: '198.51.100.4', xff: '203.0.113.5', trusted: proxies, expected: '198.51.100.4' },
    { case: 'a trusted peer hands over to the hop it appended', peer: '10.1.2.3', xff: '203.0.113.5', trusted: proxies, expected: '203.0.113.5' },
    { case: 'hops forged by the client left of an untrusted hop are ignored', peer: '10.1.2.3', xff: '1.1.1.1, 203.0.113.5, 10.9.9.9', trusted: proxies, expected: '203.0.113.5' },
    { case: 'every hop trusted: the left-most one', peer: '10.1.2.3', xff: '10.2.2.2, 10.3.3.3', trusted: proxies, expected: '10.2.2.2' },
    { case: 'a trusted peer without the header is the client', peer: '10.1.2.3', xff: undefined, trusted: proxies, expected: '10.1.2.3' },
    { case: 'a malformed hop stops the walk at the proxy that passed it', peer: '10.1.2.3', xff: '203.0.113.5, not-an-ip', trusted: proxies, expected: '10.1.2.3' },
    { case: 'IPv4-mapped peers match IPv4 entries', peer: '::ffff:192.168.1.7', xff: '203.0.113.9', trusted: proxies, expected: '203.0.113.9' },
    { case: 'IPv6 peer and hop', peer: '::1', xff: '2001:DB8::1', trusted: proxies, expected: '2001:db8::1' },
  ])('$case', ({ peer, xff, trusted, expected }) => {
    expect(clientAddressOf(request(peer, xff), trusted)).toBe(expected);
  });

  it('reads TRUSTED_PROXIES as addresses and CIDR blocks, and refuses anything else', () => {
    expect(loadConfig({ TRUSTED_PROXIES: ' 127.0.0.1, 10.0.0.0/8,fd00::/8 ' }).trustedProxies).toEqual(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(() => loadConfig({ TRUSTED_PROXIES: 'proxy.local' })).toThrow(/TRUSTED_PROXIES/);
    expect(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/TRUSTED_PROXIES/);
  });
});

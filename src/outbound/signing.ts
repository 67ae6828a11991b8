import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { mailSigningKeys } from './tables.js';

/**
 * Signs the tokens Intake puts into plus-addresses: the bounce address of each outbound mail
 * (`bounces+<id>.<signature>@<mail domain>`) and the Reply-To of a ticket
 * (`<alias>+<token>@<domain>`). Signatures are lower-case hex, so a mail system that folds the
 * local part's case does not break them.
 */
export interface MailSigner {
  /** The signature of `payload` for one purpose ("bounce", "reply"): a token for one purpose never passes for another. */
  signature(purpose: string, payload: string): string;
}

/** Hex digits of the HMAC kept: 64 bits, short enough for a local part, long enough not to be guessed. */
const SIGNATURE_CHARS = 16;

export function signerFromSecret(secret: Buffer | string): MailSigner {
  return {
    signature: (purpose, payload) => createHmac('sha256', secret).update(`${purpose}\0${payload}`).digest('hex').slice(0, SIGNATURE_CHARS),
  };
}

/**
 * The signer of this installation: MAIL_SIGNING_SECRET when set, else a random key made once and
 * kept in the database, so every instance and every restart signs alike.
 */
export async function mailSigner(db: DbOrTx, settings: { mailSigningSecret?: string | undefined }): Promise<MailSigner> {
  if (settings.mailSigningSecret) return signerFromSecret(settings.mailSigningSecret);
  return signerFromSecret(await storedSecret(db));
}

async function storedSecret(db: DbOrTx): Promise<Buffer> {
  const [row] = await db.select({ secret: mailSigningKeys.secret }).from(mailSigningKeys).where(eq(mailSigningKeys.id, 1));
  if (row) return Buffer.from(row.secret);
  // Instances starting together: one insert wins, the others read its key.
  await db.insert(mailSigningKeys).values({ id: 1, secret: randomBytes(32) }).onConflictDoNothing();
  const [made] = await db.select({ secret: mailSigningKeys.secret }).from(mailSigningKeys).where(eq(mailSigningKeys.id, 1));
  return Buffer.from(made!.secret);
}

/** `<payload>.<signature>`: a token to put after the + of a plus-address. The payload must not hold a dot. */
export function signedToken(signer: MailSigner, purpose: string, payload: string): string {
  if (!/^[a-z0-9_-]+$/.test(payload)) throw new Error(`a signed token's payload must be lower-case letters, digits, _ or -; got "${payload}"`);
  return `${payload}.${signer.signature(purpose, payload)}`;
}

/** The payload of a token whose signature holds (any case), else null. */
export function verifiedToken(signer: MailSigner, purpose: string, token: string): string | null {
  const match = /^([a-z0-9_-]+)\.([0-9a-f]+)$/.exec(token.toLowerCase());
  if (!match) return null;
  const [, payload, given] = match as unknown as [string, string, string];
  const expected = signer.signature(purpose, payload);
  if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) return null;
  return payload;
}

/** Splits a plus-address: `alias+token@domain` → { base: 'alias', token: 'token', domain }; null without a +. */
export function splitPlusAddress(address: string): { base: string; token: string; domain: string } | null {
  const at = address.lastIndexOf('@');
  if (at < 1) return null;
  const local = address.slice(0, at);
  const plus = local.indexOf('+');
  if (plus < 1 || plus === local.length - 1) return null;
  return { base: local.slice(0, plus).toLowerCase(), token: local.slice(plus + 1), domain: address.slice(at + 1).toLowerCase() };
}

const BOUNCE = 'bounce';
const BOUNCE_LOCAL_PART = 'bounces';

/** The envelope sender of outbound mail `id`: bounces to it name the mail, and nobody can forge one. */
export function bounceAddress(signer: MailSigner, outboundMailId: number, mailDomain: string): string {
  return `${BOUNCE_LOCAL_PART}+${signedToken(signer, BOUNCE, String(outboundMailId))}@${mailDomain}`;
}

/** Whether an address is shaped as one of our bounce addresses (signature not checked). */
export function looksLikeBounceAddress(address: string, mailDomain: string): boolean {
  const parts = splitPlusAddress(address);
  return parts !== null && parts.base === BOUNCE_LOCAL_PART && parts.domain === mailDomain.toLowerCase();
}

/** The outbound mail id a bounce address names when its signature holds, else null. */
export function outboundMailIdOfBounceAddress(signer: MailSigner, address: string, mailDomain: string): number | null {
  if (!looksLikeBounceAddress(address, mailDomain)) return null;
  const payload = verifiedToken(signer, BOUNCE, splitPlusAddress(address)!.token);
  if (payload === null || !/^\d{1,10}$/.test(payload)) return null;
  const id = Number(payload);
  return id >= 1 && id <= 2_147_483_647 ? id : null;
}

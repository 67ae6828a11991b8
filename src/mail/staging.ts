import type { DbOrTx } from '../db/client.js';
import { isLarge, stageBlob, sweepOrphanBlobs } from '../tickets/blobs.js';
import type { ParsedIncomingMail } from './service.js';
import { rawMails } from './tables.js';

/**
 * Writes a large mail's raw bytes and large attachments as staged blobs before its transaction
 * (see stageBlob), so the transaction carries ids instead of megabytes. A mail that then fails
 * to commit leaves blobs that sweepMailBlobs removes.
 */
export async function stageLargeParts(db: DbOrTx, mail: ParsedIncomingMail): Promise<void> {
  if (isLarge(mail.raw)) mail.rawBlobId = await stageBlob(db, mail.raw);
  for (const attachment of mail.parsed.attachments) {
    if (isLarge(attachment.data)) attachment.blobId = await stageBlob(db, attachment.data);
  }
}

/** Deletes blobs left by mails that never committed (neither a raw mail nor an attachment refers to them an hour on). */
export function sweepMailBlobs(db: DbOrTx): Promise<number> {
  return sweepOrphanBlobs(db, [{ table: rawMails, column: rawMails.blobId }]);
}

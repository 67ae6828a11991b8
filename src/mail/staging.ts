import { and, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { isLarge, stageBlob } from '../tickets/blobs.js';
import { blobs } from '../tickets/tables.js';
import type { ParsedIncomingMail } from './service.js';

/** A blob no row refers to after this long was left by a mail whose transaction did not commit. */
export const ORPHAN_BLOB_SECONDS = 3600;

/**
 * Writes a large mail's raw bytes and large attachments as staged blobs before its transaction
 * (see stageBlob), so the transaction carries ids instead of megabytes. A mail that then fails
 * to commit leaves blobs that sweepOrphanBlobs removes.
 */
export async function stageLargeParts(db: DbOrTx, mail: ParsedIncomingMail): Promise<void> {
  if (isLarge(mail.raw)) mail.rawBlobId = await stageBlob(db, mail.raw);
  for (const attachment of mail.parsed.attachments) {
    if (isLarge(attachment.data)) attachment.blobId = await stageBlob(db, attachment.data);
  }
}

/** Deletes blobs left by mails that never committed (no row refers to them an hour on). */
export async function sweepOrphanBlobs(db: DbOrTx): Promise<number> {
  const gone = await db
    .delete(blobs)
    .where(
      and(
        lt(blobs.createdAt, sql`now() - make_interval(secs => ${ORPHAN_BLOB_SECONDS})`),
        sql`not exists (select 1 from raw_mails r where r.blob_id = ${blobs.id})`,
        sql`not exists (select 1 from attachment_blobs a where a.blob_id = ${blobs.id})`,
      ),
    )
    .returning({ id: blobs.id });
  return gone.length;
}

import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { sanitizeMessageHtml, textToHtml } from '../text/html.js';
import type { CustomerRow } from './customers.js';

/** What a message keeps of its customer author. */
export type MessageCustomer = Pick<CustomerRow, 'id' | 'name' | 'email'>;
import { readBlob } from './blobs.js';
import { attachmentBlobs, ticketAttachments } from './tables.js';
import { cutByCodePoints } from '../text/clean.js';

/** The longest message body kept. */
export const MAX_BODY = 200_000;

/** A customer's message on a ticket's chatter: its HTML sanitised, or derived from the text. */
export function customerMessageRow(ticketId: number, customer: MessageCustomer | null, bodyText: string, bodyHtml: string | null | undefined) {
  return {
    ticketId,
    kind: 'MESSAGE' as const,
    authorKind: 'CUSTOMER' as const,
    authorName: customer?.name ?? null,
    authorEmail: customer?.email ?? null,
    customerId: customer?.id ?? null,
    bodyText,
    bodyHtml: bodyHtml ? sanitizeMessageHtml(bodyHtml) : textToHtml(bodyText),
  };
}

/** One message of the conversation a ticket starts from (a chat transcript), as it was written. */
export interface TranscriptMessage {
  authorKind: 'CUSTOMER' | 'AGENT' | 'SYSTEM';
  /** The author's display name; a customer's defaults to the ticket's customer. */
  authorName?: string | null;
  body: string;
  writtenAt: Date;
}

/** A transcript message on the new ticket's chatter, with its author and time as written. */
export function transcriptMessageRow(ticketId: number, customer: MessageCustomer | null, message: TranscriptMessage) {
  const byCustomer = message.authorKind === 'CUSTOMER';
  const bodyText = message.body.trim();
  return {
    ticketId,
    kind: 'MESSAGE' as const,
    authorKind: message.authorKind,
    authorName: message.authorName?.trim() || (byCustomer ? (customer?.name ?? null) : null),
    authorEmail: byCustomer ? (customer?.email ?? null) : null,
    customerId: byCustomer ? (customer?.id ?? null) : null,
    bodyText,
    bodyHtml: textToHtml(bodyText),
    createdAt: message.writtenAt,
  };
}

export interface NewAttachment {
  filename: string;
  contentType: string;
  contentId?: string | null;
  data: Buffer;
  /** Set when the bytes were staged before the transaction (large, see blobs.ts). */
  blobId?: number;
}

/** Rows per INSERT, so a statement stays well under PostgreSQL's 65 535 bind parameters. */
function chunksOf<T>(rows: T[], columns: number): T[][] {
  const size = Math.max(1, Math.floor(30_000 / columns));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}

/**
 * Stores each distinct file once (the same Buffer reaching several tickets, as one mail to
 * several teams does) and one attachment row per message referencing it.
 */
export async function storeAttachments(tx: DbOrTx, attachments: Array<NewAttachment & { messageId: number }>) {
  if (!attachments.length) return;
  const files = [...new Map(attachments.map((a) => [a.data, a.blobId])).entries()];
  const blobIdOf = new Map<Buffer, number>();
  for (const chunk of chunksOf(files, 3)) {
    const ids = await tx
      .insert(attachmentBlobs)
      .values(chunk.map(([data, staged]) => ({ size: data.length, data: staged === undefined ? data : null, blobId: staged ?? null })))
      .returning({ id: attachmentBlobs.id });
    chunk.forEach(([data], i) => blobIdOf.set(data, ids[i]!.id));
  }
  for (const chunk of chunksOf(attachments, 6)) {
    await tx.insert(ticketAttachments).values(
      chunk.map((a) => ({
        messageId: a.messageId,
        filename: cutByCodePoints(a.filename, 255),
        contentType: cutByCodePoints(a.contentType, 255),
        contentId: a.contentId == null ? null : cutByCodePoints(a.contentId, 255),
        size: a.data.length,
        blobId: blobIdOf.get(a.data)!,
      })),
    );
  }
}

export async function findAttachment(db: DbOrTx, id: number) {
  const [found] = await db
    .select({ attachment: ticketAttachments, blobData: attachmentBlobs.data, stagedBlobId: attachmentBlobs.blobId })
    .from(ticketAttachments)
    .leftJoin(attachmentBlobs, eq(attachmentBlobs.id, ticketAttachments.blobId))
    .where(eq(ticketAttachments.id, id));
  if (!found) return undefined;
  const data = found.attachment.data ?? found.blobData ?? (found.stagedBlobId === null ? null : await readBlob(db, found.stagedBlobId));
  return { ...found.attachment, data: data ?? Buffer.alloc(0) };
}

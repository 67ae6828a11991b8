import { and, asc, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { blobChunks, blobs } from './tables.js';

/** Bytes larger than this are staged as a blob instead of travelling inside their row's INSERT. */
export const STAGE_BYTES = 512 * 1024;
/** One statement writes or reads at most this much: on PGlite about 10 ms of the event loop. */
export const CHUNK_BYTES = 256 * 1024;

/** True when `data` should be staged (see STAGE_BYTES). */
export const isLarge = (data: Buffer) => data.length > STAGE_BYTES;

/**
 * Lets the event loop read sockets before the next chunk. PGlite runs statements in the
 * resolution of promises (microtasks): without this, chunk after chunk would run before any
 * waiting request is even read.
 */
const turnOfTheEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Writes `data` as a blob, one autocommitted statement per chunk, and returns its id for a row
 * written later to refer to. Call it outside a transaction: between chunks the database serves
 * everyone else (on PGlite a transaction would hold the whole server meanwhile).
 */
export async function stageBlob(db: DbOrTx, data: Buffer): Promise<number> {
  const [row] = await db.insert(blobs).values({ size: data.length }).returning({ id: blobs.id });
  for (let seq = 0, at = 0; at < data.length; seq++, at += CHUNK_BYTES) {
    await turnOfTheEventLoop();
    await db.insert(blobChunks).values({ blobId: row!.id, seq, data: data.subarray(at, at + CHUNK_BYTES) });
  }
  return row!.id;
}

/** A blob's bytes, read chunk by chunk (one statement each, for the reason stageBlob writes so). */
export async function readBlob(db: DbOrTx, blobId: number): Promise<Buffer> {
  const [head] = await db.select({ size: blobs.size }).from(blobs).where(eq(blobs.id, blobId));
  if (!head) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (let seq = 0; seq * CHUNK_BYTES < head.size; seq++) {
    await turnOfTheEventLoop();
    const [chunk] = await db
      .select({ data: blobChunks.data })
      .from(blobChunks)
      .where(and(eq(blobChunks.blobId, blobId), eq(blobChunks.seq, seq)))
      .orderBy(asc(blobChunks.seq));
    if (chunk) parts.push(Buffer.from(chunk.data));
  }
  return Buffer.concat(parts);
}

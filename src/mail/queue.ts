import type { DbOrTx } from '../db/client.js';
import type { Logger } from '../log.js';
import { parseIncomingMail, receiveMails, type IncomingMail, type MailSettings, type ParsedIncomingMail, type ReceivedMail } from './service.js';

interface Waiting {
  mail: ParsedIncomingMail;
  resolve: (results: ReceivedMail[]) => void;
  reject: (err: unknown) => void;
}

/** A batch stays within these, so that one statement never carries an unbounded payload. */
const MAX_BATCH_MAILS = 64;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Group commit for mail intake. Each mail must be committed before its 250, and storing one
 * mail alone costs a transaction of a dozen round trips and a commit (on PostgreSQL, commits of
 * transactions that NOTIFY are serialised). Mails that arrive while a batch is being stored
 * wait and are stored together in the next transaction, one statement per kind of row. A lone
 * mail goes straight through; under load, mails share statements and commits. One batch at a
 * time: measured, a second concurrent one made batches smaller and throughput lower.
 */
export class MailIntakeQueue {
  private readonly waiting: Waiting[] = [];
  private storing = false;

  constructor(
    private readonly db: DbOrTx,
    private readonly settings: MailSettings,
    private readonly log: Logger,
  ) {}

  /** Resolves once the mail is committed (answer 250); rejects when it is not (answer 451). */
  async receive(input: IncomingMail): Promise<ReceivedMail[]> {
    // Parsing is the CPU-heavy part and needs no database: done before queueing, mail by mail.
    const mail = await parseIncomingMail(input);
    return new Promise((resolve, reject) => {
      this.waiting.push({ mail, resolve, reject });
      void this.storeWaiting();
    });
  }

  private async storeWaiting(): Promise<void> {
    if (this.storing) return;
    this.storing = true;
    try {
      while (this.waiting.length) await this.store(this.takeBatch());
    } finally {
      this.storing = false;
    }
  }

  /**
   * The waiting mails that can share a transaction, oldest first. A mail that depends on one
   * already taken (same message or sender, or an answer to it) waits for the next batch, so it
   * sees that one committed: duplicates, threads and the loop guard stay exact.
   */
  private takeBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const taken = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < this.waiting.length && batch.length < MAX_BATCH_MAILS; ) {
      const mail = this.waiting[i]!.mail;
      const { parsed } = mail;
      const own = [`key:${parsed.messageKey}`, ...(parsed.messageId ? [`id:${parsed.messageId}`] : []), ...(parsed.facts.fromAddress ? [`from:${parsed.facts.fromAddress}`] : [])];
      const answers = parsed.references.map((id) => `id:${id}`);
      const fits = batch.length === 0 || bytes + mail.raw.length <= MAX_BATCH_BYTES;
      if (fits && !own.some((k) => taken.has(k)) && !answers.some((k) => taken.has(k))) {
        batch.push(...this.waiting.splice(i, 1));
        bytes += mail.raw.length;
        for (const key of [...own, ...answers]) taken.add(key);
      } else {
        i++;
      }
    }
    return batch;
  }

  private async store(batch: Waiting[]): Promise<void> {
    try {
      const results = await receiveMails(this.db, this.settings, batch.map((w) => w.mail));
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      this.log.warn('storing a batch of mail failed, storing its mails one by one', { mails: batch.length, err });
      // One mail's trouble must not cost the others their 250: each is stored again on its own.
      for (const w of batch) {
        await receiveMails(this.db, this.settings, [w.mail]).then((results) => w.resolve(results[0]!), w.reject);
      }
    }
  }
}

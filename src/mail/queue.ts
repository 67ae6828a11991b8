import { sql } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../db/client.js';
import type { Logger } from '../log.js';
import { stageLargeParts } from './staging.js';
import { parseIncomingMail, quarantineUnstorableMail, receiveMails, type IncomingMail, type MailSettings, type ParsedIncomingMail, type ReceivedMail } from './service.js';

interface Waiting {
  mail: ParsedIncomingMail;
  resolve: (results: ReceivedMail[]) => void;
  reject: (err: unknown) => void;
}

/** The codes of an error and of its causes (drizzle wraps the driver's error as `cause`). */
function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  for (let current = err as { code?: unknown; cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (typeof current.code === 'string') codes.push(current.code);
  }
  return codes;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** A batch stays within these, so that one statement never carries an unbounded payload. */
const MAX_BATCH_MAILS = 64;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Mails larger than this are stored in their own lane, so they never hold up ordinary mail. */
const LARGE_MAIL_BYTES = 1024 * 1024;

type Lane = 'small' | 'large';

/**
 * What a failure to store a mail says. `transient`: ours, and a retry may cure it (connection
 * lost or refused, database starting, shutting down, overloaded or not accepting connections,
 * serialisation conflicts, another instance storing the same mail at the same moment).
 * `content`: PostgreSQL refused what the mail holds (a data exception, a constraint, a size
 * limit), so a retry would fail the same way. `unknown`: anything else, our code included.
 */
export function storeFailureKind(err: unknown): 'transient' | 'content' | 'unknown' {
  const codes = codesOf(err);
  const transient = (code: string) =>
    /^(08|40|53|55|57|58)/.test(code) || code === '23505' || code === '25P03' || code === '25P04' || (!SQLSTATE.test(code) && /^(E[A-Z]+|CONNECT|CONNECTION)/.test(code));
  if (codes.some(transient)) return 'transient';
  if (codes.some((code) => SQLSTATE.test(code) && /^(22|23|54)/.test(code))) return 'content';
  return 'unknown';
}

export function isTransientFailure(err: unknown): boolean {
  return storeFailureKind(err) === 'transient';
}

/**
 * Group commit for mail intake. Each mail must be committed before its 250, and storing one
 * mail alone costs a transaction of a dozen round trips and a commit (on PostgreSQL, commits of
 * transactions that NOTIFY are serialised). Mails that arrive while a batch is being stored
 * wait and are stored together in the next transaction, one statement per kind of row. A lone
 * mail goes straight through; under load, mails share statements and commits. One batch at a
 * time: measured, a second concurrent one made batches smaller and throughput lower.
 */
export class MailIntakeQueue {
  private readonly waiting: Record<Lane, Waiting[]> = { small: [], large: [] };
  private readonly storing: Record<Lane, boolean> = { small: false, large: false };
  /** Keys of the batch each lane is storing: the other lane leaves mails that depend on them waiting. */
  private readonly inFlight: Record<Lane, Set<string>> = { small: new Set(), large: new Set() };

  /**
   * `deadlineMs`: the longest a mail waits for the database once parsed. Past it the sender gets
   * 451 and retries; should the mail commit after all, the retry is acknowledged as a duplicate.
   */
  constructor(
    private readonly db: DbOrTx,
    private readonly settings: MailSettings,
    private readonly log: Logger,
    private readonly deadlineMs: number = Infinity,
  ) {}

  /** Resolves once the mail is committed (answer 250); rejects when it is not (answer 451). */
  async receive(input: IncomingMail): Promise<ReceivedMail[]> {
    // Parsing is the CPU-heavy part and needs no database: done before queueing, mail by mail.
    const mail = await parseIncomingMail(input);
    // Megabytes go in before the transaction, in chunks: the transaction then stays short.
    await stageLargeParts(this.db, mail);
    const lane: Lane = mail.raw.length > LARGE_MAIL_BYTES ? 'large' : 'small';
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiting: Waiting = {
        mail,
        resolve: (results) => (clearTimeout(timer), resolve(results)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      };
      if (Number.isFinite(this.deadlineMs)) {
        timer = setTimeout(() => {
          // Not taken yet: it leaves the queue. Taken: its batch goes on, and its outcome is ignored.
          const at = this.waiting[lane].indexOf(waiting);
          if (at !== -1) this.waiting[lane].splice(at, 1);
          reject(Object.assign(new Error(`storing the mail took longer than ${this.deadlineMs} ms`), { code: 'ETIMEDOUT' }));
        }, this.deadlineMs);
      }
      this.waiting[lane].push(waiting);
      void this.storeWaiting(lane);
    });
  }

  private async storeWaiting(lane: Lane): Promise<void> {
    if (this.storing[lane]) return;
    this.storing[lane] = true;
    const other: Lane = lane === 'small' ? 'large' : 'small';
    try {
      for (;;) {
        const { batch, keys } = this.takeBatch(lane);
        if (!batch.length) break;
        this.inFlight[lane] = keys;
        await this.store(batch);
        this.inFlight[lane] = new Set();
        // Mails of the other lane may have waited for this batch.
        if (this.waiting[other].length) void this.storeWaiting(other);
      }
    } finally {
      this.inFlight[lane] = new Set();
      this.storing[lane] = false;
    }
  }

  /**
   * The waiting mails that can share a transaction, oldest first. A mail that depends on one
   * already taken (same message or sender, or an answer to it) waits for the next batch, so it
   * sees that one committed: duplicates, threads and the loop guard stay exact.
   */
  private takeBatch(lane: Lane): { batch: Waiting[]; keys: Set<string> } {
    const waiting = this.waiting[lane];
    const busy = this.inFlight[lane === 'small' ? 'large' : 'small'];
    const batch: Waiting[] = [];
    const taken = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < waiting.length && batch.length < MAX_BATCH_MAILS; ) {
      const mail = waiting[i]!.mail;
      const { parsed } = mail;
      const own = [`key:${parsed.messageKey}`, ...(parsed.messageId ? [`id:${parsed.messageId}`] : []), ...(parsed.facts.fromAddress ? [`from:${parsed.facts.fromAddress}`] : [])];
      const answers = parsed.references.map((id) => `id:${id}`);
      const fits = batch.length === 0 || bytes + mail.raw.length <= MAX_BATCH_BYTES;
      const blocked = (k: string) => taken.has(k) || busy.has(k);
      if (fits && !own.some(blocked) && !answers.some(blocked)) {
        batch.push(...waiting.splice(i, 1));
        bytes += mail.raw.length;
        for (const key of [...own, ...answers]) taken.add(key);
      } else {
        i++;
      }
    }
    return { batch, keys: taken };
  }

  private async store(batch: Waiting[]): Promise<void> {
    try {
      const results = await receiveMails(this.db, this.settings, batch.map((w) => w.mail));
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      if (batch.length === 1) return this.keepUnstorable(batch[0]!, err);
      this.log.warn('storing a batch of mail failed, storing its mails one by one', { mails: batch.length, err });
      // One mail's trouble must not cost the others their 250: each is stored again on its own.
      for (const w of batch) {
        await receiveMails(this.db, this.settings, [w.mail]).then(
          (results) => w.resolve(results[0]!),
          (mailErr) => this.keepUnstorable(w, mailErr),
        );
      }
    }
  }

  /**
   * A mail the database refused for what it holds would get 451 for ever: it is kept as raw
   * bytes and quarantined instead. Our own transient failures stay 451 (the sender retries), and
   * so does any other failure while the database does not answer: a mail is never quarantined
   * because the database was away.
   */
  private async keepUnstorable(w: Waiting, err: unknown): Promise<void> {
    const kind = storeFailureKind(err);
    if (kind === 'transient' || (kind === 'unknown' && !(await this.databaseAnswers()))) return w.reject(err);
    this.log.warn('mail could not be stored, keeping it quarantined', { err });
    await quarantineUnstorableMail(this.db, w.mail, err).then(w.resolve, (quarantineErr) => {
      this.log.error('quarantining a mail failed', { err: quarantineErr });
      w.reject(err);
    });
  }

  private async databaseAnswers(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.min(this.deadlineMs, 5000))));
    const answered = queryRows(this.db, sql`select 1`).then(
      () => true,
      () => false,
    );
    return Promise.race([answered, late]).finally(() => clearTimeout(timer));
  }
}

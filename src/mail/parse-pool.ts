import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { simpleParser, type ParsedMail } from 'mailparser';

/**
 * mailparser's options for every mail. We store text and sanitised HTML of our own making: its
 * text-to-HTML rendering (with its link detection) and its data: URLs for inline images would be
 * thrown away.
 */
export const PARSER_OPTIONS = { skipTextToHtml: true, skipImageLinks: true, maxHtmlLengthToParse: 5 * 1024 * 1024 } as const;

/** Mails larger than this are parsed on a worker thread: parsing 10 MB takes the event loop for about a second. */
export const PARSE_OFF_THREAD_BYTES = 512 * 1024;

/**
 * The worker's code, run as a CommonJS script: it needs mailparser only, found from this file's
 * place, so it runs the same under tsx, from `npm start`'s bundle and from a compiled copy.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { simpleParser } = require(workerData.mailparser);
parentPort.on('message', ({ id, raw }) => {
  simpleParser(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), workerData.options).then(
    (mail) => parentPort.postMessage({ id, mail }),
    (err) => parentPort.postMessage({ id, error: String((err && err.message) || err) }),
  );
});
`;

interface Job {
  id: number;
  raw: Uint8Array;
  resolve: (mail: ParsedMail) => void;
  reject: (err: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  job: Job | null;
}

/**
 * A bounded pool of worker threads that parse large mails, so that one 20 MB mail never holds
 * the event loop (and with it every HTTP request, chat message and SMTP reply) while it is
 * parsed. Workers start on demand and leave after a quiet minute; at most `size` parse at once
 * and the others wait their turn. A worker that dies fails its mail and is replaced by the next
 * job.
 */
export class MailParsePool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  /** Mails parsed on the pool's threads so far. */
  parsed = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly mailparser = createRequire(import.meta.url).resolve('mailparser');

  constructor(
    private readonly size: number,
    private readonly idleMs = 60_000,
  ) {}

  parse(raw: Buffer): Promise<ParsedMail> {
    return new Promise<ParsedMail>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, raw, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends every worker (a mail being parsed fails). */
  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }

  private dispatch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    while (this.queue.length) {
      let free = this.workers.find((w) => w.job === null);
      if (!free && this.workers.length < this.size) free = this.spawn();
      if (!free) return;
      const job = this.queue.shift()!;
      free.job = job;
      // Copied, not transferred: the raw bytes are stored too.
      free.worker.postMessage({ id: job.id, raw: job.raw });
    }
    if (this.workers.every((w) => w.job === null) && this.workers.length) {
      this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
      this.idleTimer.unref();
    }
  }

  private spawn(): PoolWorker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { mailparser: this.mailparser, options: PARSER_OPTIONS } });
    // A parse in flight keeps its own promise pending; an idle pool never holds the process open.
    worker.unref();
    const entry: PoolWorker = { worker, job: null };
    worker.on('message', (message: { id: number; mail?: ParsedMail; error?: string }) => {
      const job = entry.job;
      if (!job || job.id !== message.id) return;
      entry.job = null;
      if (message.error !== undefined) job.reject(new Error(message.error));
      else {
        this.parsed++;
        job.resolve(revived(message.mail!));
      }
      this.dispatch();
    });
    const gone = (err: Error) => {
      const at = this.workers.indexOf(entry);
      if (at !== -1) this.workers.splice(at, 1);
      entry.job?.reject(err);
      entry.job = null;
      this.dispatch();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`the mail parser thread exited (${code})`)));
    this.workers.push(entry);
    return entry;
  }
}

/** A parsed mail crossing a thread keeps its data but its Buffers arrive as Uint8Arrays. */
function revived(mail: ParsedMail): ParsedMail {
  for (const attachment of mail.attachments ?? []) {
    const content = attachment.content as unknown as Uint8Array;
    attachment.content = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  }
  return mail;
}

/** Parses a mail: on a worker of the pool when it is large, on the event loop when it is small (a thread hop costs more). */
export function parseMime(pool: MailParsePool | null, raw: Buffer): Promise<ParsedMail> {
  if (pool && raw.length > PARSE_OFF_THREAD_BYTES) return pool.parse(raw);
  return simpleParser(raw, PARSER_OPTIONS);
}

/** The process's pool: one thread per spare core, at most four. */
export const mailParsePool = new MailParsePool(Math.max(1, Math.min(4, availableParallelism() - 1)));

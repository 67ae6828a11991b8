import type http from 'node:http';
import zlib from 'node:zlib';

/**
 * Answers smaller than this go as they are: compressing a small JSON answer costs more time
 * than its bytes take on the wire, and it fits in the first packets anyway.
 */
export const COMPRESS_MIN_BYTES = 4096;

/** Text that compresses well: pages, JSON (GraphQL's too), scripts, SVG, SSE. */
const COMPRESSIBLE = /^(?:text\/|application\/(?:json|graphql-response\+json|javascript|xml)|image\/svg\+xml)/i;

/**
 * Brotli's quality 5 compresses nearly as tight as 9 at a quarter of the time; 11 is 40 times
 * slower again. Streams (SSE) use 4: many small flushes, each answered at once.
 */
const BROTLI_QUALITY = 5;
const BROTLI_STREAM_QUALITY = 4;

/** Bodies at least this large, written whole, are compressed once and kept: GraphiQL's page (9 MB). */
const CACHED_MIN_BYTES = 1 << 20;
const cached = new Map<Encoding, { source: string; compressed: Promise<Buffer> }>();

type Encoding = 'br' | 'gzip';

/** The client's preferred encoding among ours (`q` values honoured; brotli wins a tie), or null. */
export function chooseEncoding(acceptEncoding: string | undefined): Encoding | null {
  if (!acceptEncoding) return null;
  const weights = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.split(';').map((word) => word.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (name) weights.set(name, Number.isFinite(weight) ? weight : 0);
  }
  const weight = (name: string) => weights.get(name) ?? weights.get('*') ?? 0;
  if (weight('br') > 0 && weight('br') >= weight('gzip')) return 'br';
  return weight('gzip') > 0 ? 'gzip' : null;
}

/**
 * Compresses the answer to `req` by its Accept-Encoding, whoever writes it (a route, Yoga), when
 * it is worth it: compressible text, and a body of at least COMPRESS_MIN_BYTES (its
 * Content-Length, or the first piece written), or an SSE stream, flushed after every write so each
 * event reaches the client at once. The decision waits for the first write, when the headers and
 * the first piece of the body are known; writeHead only records until then.
 */
export function compressResponse(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method === 'HEAD') return;
  const encoding = chooseEncoding(req.headers['accept-encoding']);
  type Loose<R> = (this: http.ServerResponse, ...args: unknown[]) => R;
  const original = {
    writeHead: res.writeHead as Loose<http.ServerResponse>,
    write: res.write as Loose<boolean>,
    end: res.end as Loose<http.ServerResponse>,
    flushHeaders: res.flushHeaders,
  };
  let decided = false;
  let compressor: zlib.BrotliCompress | zlib.Gzip | null = null;
  let flushEach = false;
  /** The whole body's compressed bytes, from the cache: written instead of the body. */
  let whole: Promise<Buffer> | null = null;

  const decide = (chunk: unknown, ending: boolean) => {
    if (decided) return;
    decided = true;
    const type = String(res.getHeader('content-type') ?? '');
    const status = res.statusCode;
    // Yoga marks its SSE streams `Content-Encoding: none` to keep compressing middleware, which
    // would hold events back, away from them; this one flushes every write, so it takes them.
    if (/^(none|identity)$/i.test(String(res.getHeader('content-encoding') ?? ''))) res.removeHeader('content-encoding');
    if (COMPRESSIBLE.test(type) && !res.hasHeader('content-encoding') && status >= 200 && status !== 204 && status !== 304) {
      res.appendHeader('vary', 'Accept-Encoding');
      const stream = /^text\/event-stream/i.test(type);
      const declared = res.getHeader('content-length');
      const size = declared !== undefined ? Number(declared) : typeof chunk === 'string' || chunk instanceof Uint8Array ? Buffer.byteLength(chunk) : 0;
      if (encoding && (stream || size >= COMPRESS_MIN_BYTES)) {
        res.removeHeader('content-length');
        res.setHeader('content-encoding', encoding);
        const isWhole = typeof chunk === 'string' && size >= CACHED_MIN_BYTES && (ending || Number(declared) === Buffer.byteLength(chunk));
        if (isWhole) whole = compressedOnce(encoding, chunk);
        else {
          compressor = createCompressor(encoding, stream ? BROTLI_STREAM_QUALITY : BROTLI_QUALITY, size);
          flushEach = stream;
          // The client's pace holds the compressor back, and the compressor the writer.
          compressor.on('data', (data: Buffer) => {
            if (original.write.call(res, data)) return;
            compressor!.pause();
            res.once('drain', () => compressor!.resume());
          });
          compressor.on('end', () => original.end.call(res));
          // Writers wait for 'drain' when a write returned false: the compressor's backlog is ours.
          compressor.on('drain', () => res.emit('drain'));
          compressor.on('error', (err) => res.destroy(err));
        }
      }
    }
    original.writeHead.call(res, status, res.statusMessage);
  };

  res.writeHead = function (this: http.ServerResponse, statusCode: number, ...rest: unknown[]) {
    if (decided) return original.writeHead.call(this, statusCode, ...rest);
    const [reason, headers] = typeof rest[0] === 'string' ? [rest[0], rest[1]] : [undefined, rest[0]];
    res.statusCode = statusCode;
    if (reason !== undefined) res.statusMessage = reason;
    if (Array.isArray(headers)) {
      // Either [[name, value], …] or [name, value, name, value, …].
      const pairs = Array.isArray(headers[0]) ? (headers as [string, string][]) : Array.from({ length: headers.length / 2 }, (_, i) => [headers[2 * i], headers[2 * i + 1]] as [string, string]);
      for (const [name, value] of pairs) res.setHeader(name, value);
    } else if (headers) for (const [name, value] of Object.entries(headers as http.OutgoingHttpHeaders)) if (value !== undefined) res.setHeader(name, value);
    return res;
  } as typeof res.writeHead;

  res.flushHeaders = function (this: http.ServerResponse) {
    decide(undefined, false);
    original.flushHeaders.call(this);
  };

  res.write = function (this: http.ServerResponse, chunk: unknown, encodingOrCallback?: unknown, callback?: unknown) {
    decide(chunk, false);
    if (whole) return true; // the cached compressed body replaces what is written
    if (!compressor) return original.write.call(this, chunk, encodingOrCallback, callback);
    const written = compressor.write(toBuffer(chunk, encodingOrCallback), typeof encodingOrCallback === 'function' ? (encodingOrCallback as () => void) : (callback as (() => void) | undefined));
    if (flushEach) compressor.flush(encoding === 'br' ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH);
    return written;
  } as typeof res.write;

  res.end = function (this: http.ServerResponse, chunk?: unknown, encodingOrCallback?: unknown, callback?: unknown) {
    if (typeof chunk === 'function') [chunk, callback] = [undefined, chunk];
    if (typeof encodingOrCallback === 'function') [encodingOrCallback, callback] = [undefined, encodingOrCallback];
    decide(chunk, true);
    if (typeof callback === 'function') res.once('finish', callback as () => void);
    if (whole) {
      whole.then(
        (body) => original.end.call(res, body),
        (err: Error) => res.destroy(err),
      );
    } else if (compressor) {
      if (chunk === undefined || chunk === null) compressor.end();
      else compressor.end(toBuffer(chunk, encodingOrCallback));
    } else {
      original.end.call(res, chunk, encodingOrCallback);
    }
    return res;
  } as typeof res.end;
}

function createCompressor(encoding: Encoding, quality: number, sizeHint: number): zlib.BrotliCompress | zlib.Gzip {
  if (encoding === 'gzip') return zlib.createGzip();
  return zlib.createBrotliCompress({
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      ...(sizeHint > 0 ? { [zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint } : {}),
    },
  });
}

/** A large body sent again and again (the same string: GraphiQL's page) is compressed once per encoding. */
function compressedOnce(encoding: Encoding, body: string): Promise<Buffer> {
  const entry = cached.get(encoding);
  if (entry?.source === body) return entry.compressed;
  const input = Buffer.from(body);
  const compressed = new Promise<Buffer>((resolve, reject) => {
    const done = (err: Error | null, out: Buffer) => (err ? reject(err) : resolve(out));
    if (encoding === 'gzip') zlib.gzip(input, done);
    else
      zlib.brotliCompress(
        input,
        { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: input.length } },
        done,
      );
  });
  cached.set(encoding, { source: body, compressed });
  compressed.catch(() => cached.delete(encoding));
  return compressed;
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer | Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk as Uint8Array;
}

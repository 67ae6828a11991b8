import type http from 'node:http';
import busboy from 'busboy';
import { cutByCodePoints } from '../text/clean.js';

/** How much of a form post is read before it is refused; each is enforced as the body streams in. */
export interface FormBodyLimits {
  /** The whole body, in bytes. */
  maxBytes: number;
  /** The whole body when it cannot carry files (urlencoded), in bytes. */
  maxTextBytes: number;
  /** Text fields plus files. */
  maxParts: number;
  maxFiles: number;
  /** One text value, in bytes. */
  maxFieldBytes: number;
  /** One file, in bytes: a larger one is kept cut at one byte past this, so the form can say it is too large. */
  maxFileBytes: number;
}

export interface FormFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

export type FormBody =
  | { ok: true; values: Record<string, string>; files: Record<string, FormFile> }
  | { ok: false; status: 400 | 413 | 415; reason: string };

/**
 * Reads an urlencoded or multipart form body with busboy, chunk by chunk: parsing never holds
 * the event loop for the whole body, and the first part, field or byte past a limit ends the
 * reading at once (the rest of the body is discarded unparsed).
 */
export function readFormBody(req: http.IncomingMessage, limits: FormBodyLimits): Promise<FormBody> {
  const maxBytes = /^\s*multipart\//i.test(req.headers['content-type'] ?? '') ? limits.maxBytes : limits.maxTextBytes;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve({ ok: false, status: 413, reason: `The submission is larger than ${maxBytes} bytes.` });
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { parts: limits.maxParts, fields: limits.maxParts, files: limits.maxFiles, fieldSize: limits.maxFieldBytes, fieldNameSize: 100, fileSize: limits.maxFileBytes + 1 },
    });
  } catch {
    return Promise.resolve({ ok: false, status: 415, reason: 'Send the form as application/x-www-form-urlencoded or multipart/form-data.' });
  }

  return new Promise((resolve) => {
    const values: Record<string, string> = {};
    const files: Record<string, FormFile> = {};
    let received = 0;
    let settled = false;
    const finish = (result: FormBody) => {
      if (settled) return;
      settled = true;
      req.off('data', countBytes);
      if (!result.ok) {
        req.unpipe(parser);
        parser.removeAllListeners();
        // busboy may still emit on its own; an error now has nobody to tell.
        parser.on('error', () => {});
        req.resume();
      }
      resolve(result);
    };
    const tooLarge = (reason: string) => finish({ ok: false, status: 413, reason });
    const countBytes = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) tooLarge(`The submission is larger than ${maxBytes} bytes.`);
    };

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated) return tooLarge(`The field "${cutByCodePoints(name, 100)}" is longer than ${limits.maxFieldBytes} bytes.`);
      values[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const data = Buffer.concat(chunks);
        if (data.length > 0) files[name] = { filename: info.filename || name, contentType: info.mimeType || 'application/octet-stream', data };
      });
    });
    parser.on('partsLimit', () => tooLarge(`The submission has more than ${limits.maxParts} parts.`));
    parser.on('fieldsLimit', () => tooLarge(`The submission has more than ${limits.maxParts} fields.`));
    parser.on('filesLimit', () => tooLarge(`The submission has more than ${limits.maxFiles} files.`));
    parser.on('error', () => finish({ ok: false, status: 400, reason: 'The submission could not be read.' }));
    parser.on('close', () => finish({ ok: true, values, files }));
    req.on('data', countBytes);
    req.on('error', () => finish({ ok: false, status: 400, reason: 'The submission was cut off.' }));
    req.pipe(parser);
  });
}

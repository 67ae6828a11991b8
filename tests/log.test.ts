import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.js';

/** The JSON lines a logger writes while `work` runs. */
function linesOf(work: () => void): any[] {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (written.push(String(chunk)), true));
  try {
    work();
  } finally {
    spy.mockRestore();
  }
  return written.join('').trim().split('\n').map((l) => JSON.parse(l));
}

describe('log lines', () => {
  it('carry the cause of an error: the driver error drizzle wraps, with its code and detail', () => {
    const driverError = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021', detail: 'in column subject' });
    const wrapped = new Error('Failed query: insert into "inbound_mails" …', { cause: driverError });
    const [line] = linesOf(() => createLogger('info').error('mail intake failed', { err: wrapped }));
    expect(line.err.message).toMatch(/^Failed query/);
    expect(line.err.cause).toMatchObject({ message: 'invalid byte sequence for encoding "UTF8": 0x00', code: '22021', detail: 'in column subject' });
  });
});

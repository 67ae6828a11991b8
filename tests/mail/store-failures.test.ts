import { describe, expect, it } from 'vitest';
import { storeFailureKind } from '../../src/mail/queue.js';

/** An error as drizzle hands it over: its own message, the driver's error as `cause`. */
const wrapped = (code: string, message = 'x') => Object.assign(new Error('Failed query: insert into raw_mails …'), { cause: Object.assign(new Error(message), { code }) });

// What a failure to store a mail means for its sender: transient → 451 (the sender retries);
// content → quarantined (a retry would fail the same way); unknown → 451 unless the database answers.
describe('storeFailureKind', () => {
  it.each([
    [wrapped('55000', 'database "intake" is not currently accepting connections'), 'transient'],
    [wrapped('57P01', 'terminating connection due to administrator command'), 'transient'],
    [wrapped('57P03', 'the database system is starting up'), 'transient'],
    [wrapped('53300', 'sorry, too many clients already'), 'transient'],
    [wrapped('40001', 'could not serialize access'), 'transient'],
    [wrapped('40P01', 'deadlock detected'), 'transient'],
    [wrapped('25P04', 'terminating connection due to idle-in-transaction timeout'), 'transient'],
    [wrapped('23505', 'duplicate key value violates unique constraint'), 'transient'],
    [wrapped('CONNECTION_CLOSED'), 'transient'],
    [wrapped('CONNECT_TIMEOUT'), 'transient'],
    [wrapped('ECONNREFUSED'), 'transient'],
    [Object.assign(new Error('storing the mail took longer than 5000 ms'), { code: 'ETIMEDOUT' }), 'transient'],
    [wrapped('22021', 'invalid byte sequence for encoding "UTF8": 0x00'), 'content'],
    [wrapped('22001', 'value too long for type character varying(255)'), 'content'],
    [wrapped('23514', 'new row violates check constraint'), 'content'],
    [wrapped('54000', 'index row size exceeds btree maximum'), 'content'],
    [new TypeError("Cannot read properties of undefined (reading 'id')"), 'unknown'],
    [wrapped('42P01', 'relation does not exist'), 'unknown'],
  ])('%#: %s', (err, kind) => {
    expect(storeFailureKind(err)).toBe(kind);
  });
});

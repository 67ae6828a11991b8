import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { dkimFor } from '../../src/outbound/dkim.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'intake-dkim-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = path.join(dir, 'dkim.pem');
writeFileSync(keyFile, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const notAKey = path.join(dir, 'readme.txt');
writeFileSync(notAKey, 'hello');

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

describe('DKIM settings', () => {
  it('are both or neither, a readable PEM key and a DNS label', () => {
    expect(loadConfig({}).dkim).toBeNull();
    expect(loadConfig({ DKIM_PRIVATE_KEY_FILE: keyFile, DKIM_SELECTOR: 'intake' }).dkim).toMatchObject({ selector: 'intake', privateKey: expect.stringContaining('BEGIN PRIVATE KEY') });
    expect(problemsOf({ DKIM_SELECTOR: 'intake' })).toEqual([expect.stringContaining('DKIM_PRIVATE_KEY_FILE and DKIM_SELECTOR')]);
    expect(problemsOf({ DKIM_PRIVATE_KEY_FILE: keyFile })).toEqual([expect.stringContaining('DKIM_PRIVATE_KEY_FILE and DKIM_SELECTOR')]);
    expect(problemsOf({ DKIM_PRIVATE_KEY_FILE: path.join(dir, 'missing.pem'), DKIM_SELECTOR: 'intake' })).toEqual([expect.stringContaining('DKIM_PRIVATE_KEY_FILE cannot be read')]);
    expect(problemsOf({ DKIM_PRIVATE_KEY_FILE: notAKey, DKIM_SELECTOR: 'intake' })).toEqual([expect.stringContaining('PEM private key')]);
    expect(problemsOf({ DKIM_PRIVATE_KEY_FILE: keyFile, DKIM_SELECTOR: 'in take' })).toEqual([expect.stringContaining('DKIM_SELECTOR')]);
  });

  it('sign for the domain of the From alias', () => {
    const dkim = { selector: 's1', privateKey: 'KEY' };
    expect(dkimFor('"Customer Care" <customer-care@Support.Example.com>', dkim)).toEqual({ domainName: 'support.example.com', keySelector: 's1', privateKey: 'KEY' });
    expect(dkimFor('care@other.example', dkim)).toMatchObject({ domainName: 'other.example' });
    expect(dkimFor('care@other.example', null)).toBeNull();
    expect(dkimFor('no address', dkim)).toBeNull();
  });
});

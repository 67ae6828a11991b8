// Applied by `npm install`/`npm ci` (our postinstall): guards postgres.js 3.4.9 against a
// database failover. Unpatched, a write scheduled with setImmediate after the server dropped the
// connection dereferences a null socket and kills the whole process (porsager/postgres #1154,
// #1208; guard PRs #1168, #1176, #1209); no published 3.x release has the guard (3.4.10 does
// not: its nextWrite is 3.4.9's) and 4.x (to 4.2.0) is a rewrite with other semantics. Remove
// this file when a release carries it.
//
// Idempotent (patched files are recognised by a marker) and loud: when the driver's code no
// longer matches what this script expects, it fails the install instead of leaving it unguarded.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const EXPECTED_VERSION = '3.4.9';
const MARKER = '/* intake: failover patch */';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const driver = path.join(root, 'node_modules/postgres');

/** Each edit replaces one exact piece of the driver's source, found exactly once. */
const edits = {
  'connection.js': [
    {
      why: 'a write that fires after the connection closed rejects its queries instead of throwing from setImmediate (#1209)',
      from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
      to: `  function nextWrite(fn) {
    if (!socket) ${MARKER}
      return writeAfterClose()
    const x = socket.write(chunk, fn)`,
    },
    {
      why: 'the guard itself: drop the bytes meant for the dead backend, settle what waited on them',
      from: `  function connectTimedOut() {`,
      to: `  function writeAfterClose() {
    chunk = nextWriteTimer = null
    error(Errors.connection('CONNECTION_CLOSED', options))
    return false
  }

  function connectTimedOut() {`,
    },
    {
      why: 'terminate() forgets the pending write, so the next socket never gets stale bytes',
      from: `    clearImmediate(nextWriteTimer)
    if (socket) {`,
      to: `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    if (socket) {`,
    },
    {
      why: 'closed() forgets the pending write too (else no later write is ever scheduled)',
      from: `    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)`,
      to: `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    socket.removeListener('data', data)`,
    },
    {
      why: "closed() settles and forgets the dead backend's query and error, also when it reconnects at once for a waiting query: the new backend's first answer no longer rejects them again (an unhandled rejection), nor the next query with the old error; end() no longer waits for them",
      from: `    if (initial)
      return reconnect()

    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
      to: `    if (initial) {
      query && queryError(query, Errors.connection('CONNECTION_CLOSED', options))
      query = errorResponse = null
      return reconnect()
    }

    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
    query = errorResponse = null
`,
    },
    {
      why: 'the array types fetched on connect: a connection lost meanwhile rejects that query, which nobody awaits (an unhandled rejection ends the process); the next connection fetches them again',
      from: `    \`], [], execute)
    types.forEach(({ oid, typarray }) => addArrayType(oid, typarray))`,
      to: `    \`], [], execute).catch(() => null)
    types && types.forEach(({ oid, typarray }) => addArrayType(oid, typarray))`,
    },
  ],
  'index.js': [
    {
      why: 'a transaction whose connection closed refuses further statements (else they run on the reconnected connection, outside the transaction, autocommitted)',
      from: `        new Promise((_, reject) => connection.onclose = reject)`,
      to: `        new Promise((_, reject) => connection.onclose = e => (closedWith = e, reject(e))) ${MARKER}`,
    },
    {
      why: 'where the transaction remembers that',
      from: `    let savepoints = 0
      , connection`,
      to: `    let savepoints = 0
      , closedWith = null
      , connection`,
    },
    {
      why: 'and where its statements are refused',
      from: `      function handler(q) {
        q.catch(e => uncaughtError || (uncaughtError = e))
        c.queue === full`,
      to: `      function handler(q) {
        q.catch(e => uncaughtError || (uncaughtError = e))
        if (closedWith)
          return q.reject(closedWith)
        c.queue === full`,
    },
  ],
};

function fail(message) {
  process.stderr.write(`patch-postgres: ${message}\n`);
  process.exit(1);
}

if (!existsSync(path.join(driver, 'package.json'))) {
  // Installed without the driver (a partial install): nothing to guard.
  process.exit(0);
}
const { version } = JSON.parse(readFileSync(path.join(driver, 'package.json'), 'utf8'));
if (version !== EXPECTED_VERSION) {
  fail(`postgres ${version} is installed, this patch is for ${EXPECTED_VERSION}: check whether the new release has the failover guard, then update or remove scripts/patch-postgres.mjs`);
}

let patched = 0;
for (const build of ['src', 'cjs/src', 'cf/src']) {
  for (const [file, fileEdits] of Object.entries(edits)) {
    const target = path.join(driver, build, file);
    if (!existsSync(target)) fail(`${path.relative(root, target)} is missing`);
    let source = readFileSync(target, 'utf8');
    if (source.includes(MARKER)) continue;
    for (const edit of fileEdits) {
      const at = source.indexOf(edit.from);
      if (at === -1 || source.indexOf(edit.from, at + 1) !== -1) {
        fail(`${path.relative(root, target)} does not match (${edit.why}): the driver changed, review the patch`);
      }
      source = source.slice(0, at) + edit.to + source.slice(at + edit.from.length);
    }
    writeFileSync(target, source);
    patched++;
  }
}
if (patched) process.stdout.write(`patch-postgres: guarded postgres ${version} against closed connections (${patched} files)\n`);

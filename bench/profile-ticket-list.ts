import { mkdirSync } from 'node:fs';
import { freePort } from '../tests/support/server.js';
import { dropDatabase, startProcess, stopProcess } from './support.js';
import { prepareTicketList } from './tickets-http.js';

/**
 * A CPU profile of the server under the ticket-list bench's load (node --cpu-prof), for
 * bench/cpu-shares.ts and bench/top-self.ts:  tsx bench/profile-ticket-list.ts <dir> [seconds]
 */
const dir = process.argv[2] ?? 'profiles';
const seconds = Number(process.argv[3] ?? 10);
mkdirSync(dir, { recursive: true });
const name = `intake_profile_tickets_${process.pid}`;
const { env, request } = await prepareTicketList(name);
const port = await freePort();
const server = await startProcess('src/main.ts', ['start'], env(port), `http://127.0.0.1:${port}/healthz`, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
try {
  const run = await request(port, '/graphql')(seconds);
  process.stdout.write(JSON.stringify({ requests: run.latencies.length, rps: Math.round(run.latencies.length / seconds), errors: run.errors }) + '\n');
} finally {
  await stopProcess(server);
  await dropDatabase(name);
}

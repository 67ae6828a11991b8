import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { createClient, type Client } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket from 'ws';
import { createAgent, createApiToken, generateToken, hashToken } from '../src/auth/service.js';
import { openPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { dropDatabase, freshDatabase, load, ratio, report, startProcess, stopProcess, takeTurns, type LoadRun } from './support.js';

// BENCH_LIVECHAT_PORT moves the two servers (and the database's name) so that two runs can share a machine.
const PORT_BASE = Number(process.env.BENCH_LIVECHAT_PORT || 4711);
const DB = PORT_BASE === 4711 ? 'intake_bench_livechat' : `intake_bench_livechat_${PORT_BASE}`;
const TOKEN = 'bench-admin-token';
const INTAKE_PORT = PORT_BASE;
const FLOOR_PORT = PORT_BASE + 1;
const OPEN_FILES = 65536;
/** Sessions per operator socket in the flow bench: one operator following many chats. */
const SESSIONS_PER_OPERATOR_SOCKET = 50;

const MESSAGE_FIELDS = 'cursor node { body author { kind } }';
const FOLLOW = `subscription ($sessionId: ID!) { chatMessageAdded(sessionId: $sessionId) { ${MESSAGE_FIELDS} } }`;
const START = `mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) { session { id status } visitorToken userErrors { code message } } }`;
const SEND = `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { id } userErrors { code message } } }`;

/** What the server holds in memory, as the kernel counts it. */
function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  if (!line) throw new Error(`no VmRSS for ${pid}`);
  return Number(line[1]);
}

async function graphql(query: string, variables: Record<string, unknown>, token: string) {
  const res = await fetch(`http://127.0.0.1:${INTAKE_PORT}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

function socketOf(token: string): Client {
  return createClient({
    url: `ws://127.0.0.1:${INTAKE_PORT}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
  });
}

/** One operation (a mutation here) over a graphql-ws socket, its single result. */
function execute(client: Client, query: string, variables: Record<string, unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    let result: any;
    client.subscribe({ query, variables }, { next: (value) => (result = value), error: reject, complete: () => resolve(result) });
  });
}

/** Runs `work` over `items`, `width` at a time. */
async function inBatches<T>(items: T[], width: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

interface Operator {
  id: string;
  token: string;
}

interface Visitor {
  sessionId: string;
  token: string;
}

/** A team with live chat and one online operator (accepting, and connected by its session feed). */
async function openChannel(operator: Operator, name: string): Promise<{ channelId: string; operatorFeed: Client }> {
  const { createTeam } = await graphql(`mutation ($input: CreateTeamInput!) { createTeam(input: $input) { team { liveChatChannel { id } } userErrors { message } } }`, { input: { name, useLiveChat: true } }, TOKEN);
  const channelId = createTeam.team.liveChatChannel.id as string;
  const { addLiveChatOperators } = await graphql(`mutation ($input: AddLiveChatOperatorsInput!) { addLiveChatOperators(input: $input) { userErrors { message } } }`, { input: { channelId, agentIds: [operator.id] } }, TOKEN);
  if (addLiveChatOperators.userErrors.length) throw new Error(JSON.stringify(addLiveChatOperators.userErrors));
  const operatorFeed = socketOf(operator.token);
  operatorFeed.subscribe({ query: `subscription ($channelId: ID) { liveChatSessionChanged(channelId: $channelId) { id } }`, variables: { channelId } }, { next: () => {}, error: () => {}, complete: () => {} });
  const { setOperatorStatus } = await graphql(`mutation { setOperatorStatus(input: { accepting: true }) { userErrors { message } } }`, {}, operator.token);
  if (setOperatorStatus.userErrors.length) throw new Error(JSON.stringify(setOperatorStatus.userErrors));
  // The operator counts as connected once the server has its presence row: wait for that fact.
  for (let tries = 0; !(await graphql(`query ($id: ID!) { liveChatChannel(id: $id) { available } }`, { id: channelId }, TOKEN)).liveChatChannel.available; tries++) {
    if (tries > 200) throw new Error('the operator never came online');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { channelId, operatorFeed };
}

/** A channel as `openChannel` makes it, and `count` open sessions in it. */
async function openSessions(databaseUrl: string, operator: Operator, count: number): Promise<{ visitors: Visitor[]; operatorFeed: Client }> {
  const { channelId, operatorFeed } = await openChannel(operator, 'Bench chat');
  // startLiveChat serialises on the channel's row lock (a few ms a session on this machine):
  // the first sessions go through it, the rest are copies of the first written in bulk in SQL.
  const throughApi = Math.min(count, Number(process.env.BENCH_API_SESSIONS || 200));
  const visitors: Visitor[] = new Array(throughApi);
  const started = Date.now();
  await inBatches(visitors, 8, async (_, index) => {
    const { startLiveChat } = await graphql(START, { input: { channelId, visitorName: `Visitor ${index}` } }, '');
    if (startLiveChat.userErrors.length || startLiveChat.session.status !== 'OPEN') throw new Error(JSON.stringify(startLiveChat));
    visitors[index] = { sessionId: startLiveChat.session.id, token: startLiveChat.visitorToken };
  });
  if (process.env.BENCH_VERBOSE) process.stderr.write(`${throughApi} sessions started through startLiveChat in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (count > throughApi) visitors.push(...(await copySessions(databaseUrl, Number(decodeGlobalID(visitors[0]!.sessionId).id), count - throughApi)));
  return { visitors, operatorFeed };
}

/** `count` more OPEN sessions like `templateId` (same channel and operator, its welcome message), each with a visitor token. */
async function copySessions(databaseUrl: string, templateId: number, count: number): Promise<Visitor[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    return await sql.begin(async (tx) => {
      const sessions = await tx<{ id: number }[]>`
        insert into live_chat_sessions (channel_id, status, visitor_name, operator_id, session_key_hash, last_seq)
        select t.channel_id, 'OPEN', 'Visitor ' || i, t.operator_id, md5(random()::text || i), 1
        from live_chat_sessions t, generate_series(1, ${count}) i where t.id = ${templateId}
        returning id`;
      const ids = sessions.map((s) => s.id);
      await tx`
        insert into live_chat_messages (session_id, seq, author_kind, author_name, agent_id, body, in_transcript)
        select s.id, 1, m.author_kind, m.author_name, m.agent_id, m.body, m.in_transcript
        from unnest(${ids}::int[]) s(id), live_chat_messages m where m.session_id = ${templateId} and m.seq = 1`;
      const tokens = ids.map(() => generateToken('intakev_'));
      await tx`insert into visitor_tokens (session_id, token_hash) select * from unnest(${ids}::int[], ${tokens.map(hashToken)}::text[])`;
      return ids.map((id, i) => ({ sessionId: encodeGlobalID('LiveChatSession', String(id)), token: tokens[i]! }));
    });
  } finally {
    await sql.end();
  }
}

/** Opens a visitor's socket and its chatMessageAdded subscription; resolves once the replay (the welcome message) arrived. */
function follow(client: Client, sessionId: string, onMessage: (body: string, kind: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    client.subscribe(
      { query: FOLLOW, variables: { sessionId } },
      {
        next: (result: any) => {
          if (result.errors) return reject(new Error(JSON.stringify(result.errors)));
          const node = result.data.chatMessageAdded.node;
          onMessage(node.body, node.author.kind);
          resolve();
        },
        error: reject,
        complete: () => {},
      },
    );
  });
}

/** Part 1: RSS per idle visitor (socket + chatMessageAdded subscription) beside a bare ws server's RSS per idle socket. */
async function idleVisitors(env: Record<string, string>, operator: Operator, count: number) {
  let server: ChildProcess | undefined;
  let intakeKb: number;
  let visitors: Visitor[];
  let setupSeconds: number;
  const clients: Client[] = [];
  try {
    server = await startProcess('bin/intake.mjs', ['start'], env, `http://127.0.0.1:${INTAKE_PORT}/healthz`, { openFiles: OPEN_FILES });
    const setupStarted = Date.now();
    const opened = await openSessions(env.DATABASE_URL!, operator, count);
    clients.push(opened.operatorFeed);
    visitors = opened.visitors;
    setupSeconds = (Date.now() - setupStarted) / 1000;
    const before = rssKb(server.pid!);
    await inBatches(visitors, 100, async (visitor) => {
      const client = socketOf(visitor.token);
      clients.push(client);
      await follow(client, visitor.sessionId, () => {});
    });
    intakeKb = (rssKb(server.pid!) - before) / count;
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    if (server) await stopProcess(server);
  }

  let floor: ChildProcess | undefined;
  let floorKb: number;
  const sockets: WebSocket[] = [];
  try {
    floor = await startProcess('bench/livechat-floor-server.ts', [], { ...env, PORT: String(FLOOR_PORT) }, `http://127.0.0.1:${FLOOR_PORT}/healthz`, { openFiles: OPEN_FILES });
    const before = rssKb(floor.pid!);
    await inBatches(visitors, 100, async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${FLOOR_PORT}/`);
      sockets.push(socket);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    });
    floorKb = (rssKb(floor.pid!) - before) / count;
  } finally {
    for (const socket of sockets) socket.terminate();
    if (floor) await stopProcess(floor);
  }
  report({
    bench: 'livechat_idle_visitors',
    visitors: count,
    figure: 'rss_kb_per_visitor',
    intake: Math.round(intakeKb * 10) / 10,
    baseline: Math.round(floorKb * 10) / 10,
    baseline_is: 'bare ws server, RSS per idle socket',
    target_max: 40,
    session_setup_s: Math.round(setupSeconds),
  });
  return visitors;
}

/** Who waits for which message: the body is unique, and only the other party's arrival counts. */
class Deliveries {
  private waiting = new Map<string, { receiver: 'visitor' | 'operator'; resolve: () => void }>();
  private next = 0;

  expect(receiver: 'visitor' | 'operator'): { body: string; delivered: Promise<void> } {
    const body = `m${this.next++}`;
    const { promise: delivered, resolve } = Promise.withResolvers<void>();
    this.waiting.set(body, { receiver, resolve });
    return { body, delivered };
  }

  arrived(body: string, receiver: 'visitor' | 'operator') {
    const entry = this.waiting.get(body);
    if (entry?.receiver !== receiver) return;
    this.waiting.delete(body);
    entry.resolve();
  }

  forget(body: string) {
    this.waiting.delete(body);
  }
}

/**
 * Closed-loop chat load: `concurrency` senders each send the next message once the previous one
 * was delivered to the other party, through the sessions in turn, directions alternating.
 */
async function chatLoad(sessions: number, concurrency: number, seconds: number, deliveries: Deliveries, send: (session: number, from: 'visitor' | 'operator', body: string) => Promise<boolean>): Promise<LoadRun> {
  const latencies: number[] = [];
  let errors = 0;
  let turn = 0;
  const started = Date.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const n = turn++;
        const session = n % sessions;
        const from = Math.floor(n / sessions) % 2 === 0 ? 'visitor' : 'operator';
        const { body, delivered } = deliveries.expect(from === 'visitor' ? 'operator' : 'visitor');
        const sent = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 5000)));
        const [accepted, outcome] = await Promise.all([send(session, from, body).catch(() => false), Promise.race([delivered.then(() => 'delivered' as const), timeout])]);
        clearTimeout(timer);
        if (outcome === 'delivered') latencies.push(performance.now() - sent);
        else deliveries.forget(body);
        if (!accepted || outcome !== 'delivered') errors++;
      }
    }),
  );
  return { latencies, errors, seconds: (Date.now() - started) / 1000 };
}

/** Part 2: messages both ways in `count` open sessions, Intake (graphql-ws) beside a ws relay that INSERTs then broadcasts. */
async function chatFlow(env: Record<string, string>, operatorToken: string, visitors: Visitor[], seconds: number) {
  const concurrency = Number(process.env.BENCH_CHAT_CONCURRENCY || 20);
  const servers: ChildProcess[] = [];
  const clients: Client[] = [];
  const sockets: WebSocket[] = [];
  let results;
  try {
    // BENCH_CPU_PROF=<dir> writes a CPU profile of Intake's run here (on exit), to see where the time goes.
    const nodeFlags = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    servers.push(await startProcess('bin/intake.mjs', ['start'], env, `http://127.0.0.1:${INTAKE_PORT}/healthz`, { openFiles: OPEN_FILES, nodeFlags }));
    servers.push(await startProcess('bench/livechat-floor-server.ts', [], { ...env, PORT: String(FLOOR_PORT) }, `http://127.0.0.1:${FLOOR_PORT}/healthz`, { openFiles: OPEN_FILES }));

    const intakeDeliveries = new Deliveries();
    const visitorClients = visitors.map((v) => socketOf(v.token));
    const operatorClients = Array.from({ length: Math.ceil(visitors.length / SESSIONS_PER_OPERATOR_SOCKET) }, () => socketOf(operatorToken));
    clients.push(...visitorClients, ...operatorClients);
    await inBatches(visitors, 50, async (visitor, i) => {
      await follow(visitorClients[i]!, visitor.sessionId, (body) => intakeDeliveries.arrived(body, 'visitor'));
      await follow(operatorClients[Math.floor(i / SESSIONS_PER_OPERATOR_SOCKET)]!, visitor.sessionId, (body) => intakeDeliveries.arrived(body, 'operator'));
    });
    const intakeSend = async (session: number, from: 'visitor' | 'operator', body: string) => {
      const client = from === 'visitor' ? visitorClients[session]! : operatorClients[Math.floor(session / SESSIONS_PER_OPERATOR_SOCKET)]!;
      const result = await execute(client, SEND, { input: { sessionId: visitors[session]!.sessionId, body } });
      return !result.errors && result.data.sendChatMessage.userErrors.length === 0;
    };

    const floorDeliveries = new Deliveries();
    const open = () => {
      const socket = new WebSocket(`ws://127.0.0.1:${FLOOR_PORT}/`);
      sockets.push(socket);
      return socket;
    };
    const floorVisitors = visitors.map(open);
    const floorOperators = operatorClients.map(open);
    await Promise.all(sockets.map((s) => new Promise((resolve, reject) => s.once('open', resolve).once('error', reject))));
    const listen = (socket: WebSocket, receiver: 'visitor' | 'operator') => socket.on('message', (data) => floorDeliveries.arrived(JSON.parse(data.toString()).body, receiver));
    floorVisitors.forEach((socket, session) => {
      listen(socket, 'visitor');
      socket.send(JSON.stringify({ type: 'join', session }));
    });
    floorOperators.forEach((socket, index) => {
      listen(socket, 'operator');
      for (let session = index * SESSIONS_PER_OPERATOR_SOCKET; session < Math.min(visitors.length, (index + 1) * SESSIONS_PER_OPERATOR_SOCKET); session++) socket.send(JSON.stringify({ type: 'join', session }));
    });
    const floorSend = async (session: number, from: 'visitor' | 'operator', body: string) => {
      const socket = from === 'visitor' ? floorVisitors[session]! : floorOperators[Math.floor(session / SESSIONS_PER_OPERATOR_SOCKET)]!;
      socket.send(JSON.stringify({ type: 'send', session, author: from, body }));
      return true;
    };

    results = await takeTurns(
      {
        intake: (s) => chatLoad(visitors.length, concurrency, s, intakeDeliveries, intakeSend),
        baseline: (s) => chatLoad(visitors.length, concurrency, s, floorDeliveries, floorSend),
      },
      seconds,
    );
  } finally {
    for (const socket of sockets) socket.terminate();
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all(servers.map(stopProcess));
  }
  const { intake, baseline } = results;
  const base = { bench: 'livechat_messages_both_ways', sessions: visitors.length, concurrency, seconds };
  report({ ...base, figure: 'messages_per_s', intake: intake.rps, baseline: baseline.rps, ratio: ratio(intake.rps, baseline.rps), target_ratio: 0.5, errors: intake.errors + baseline.errors });
  report({ ...base, figure: 'latency_p50_ms', intake: intake.p50, baseline: baseline.p50 });
  report({ ...base, figure: 'latency_p99_ms', intake: intake.p99, baseline: baseline.p99, target_max: 50 });
}

/**
 * Part 3: visitors starting chats on one channel, `concurrency` at once (closed loop), beside the
 * floor server answering an HTTP request with one INSERT of a session row.
 */
async function chatStarts(env: Record<string, string>, operator: Operator, seconds: number) {
  const concurrency = Number(process.env.BENCH_START_CONCURRENCY || 200);
  // BENCH_START_ADDRESSES=each gives every concurrent visitor an address of its own (X-Forwarded-For
  // through TRUSTED_PROXIES), as on the internet; by default all come from 127.0.0.1 and so share
  // the per-address rate counter and open-sessions lock.
  const eachAddress = process.env.BENCH_START_ADDRESSES === 'each';
  if (eachAddress) env = { ...env, TRUSTED_PROXIES: '127.0.0.1' };
  const addressOf = (connection: number) => ({ 'x-forwarded-for': `10.${connection >> 16}.${(connection >> 8) & 255}.${connection & 255}` });
  const servers: ChildProcess[] = [];
  let feed: Client | undefined;
  let results;
  try {
    const nodeFlags = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    servers.push(await startProcess('bin/intake.mjs', ['start'], env, `http://127.0.0.1:${INTAKE_PORT}/healthz`, { openFiles: OPEN_FILES, nodeFlags }));
    servers.push(await startProcess('bench/livechat-floor-server.ts', [], { ...env, PORT: String(FLOOR_PORT) }, `http://127.0.0.1:${FLOOR_PORT}/healthz`, { openFiles: OPEN_FILES }));
    const opened = await openChannel(operator, 'Bench chat starts');
    feed = opened.operatorFeed;
    const channelId = opened.channelId;
    // The floor writes its rows (WAITING, no operator) into a channel of its own: in the starts'
    // channel they would be a line every later start joins, counted under its lock.
    const { createTeam } = await graphql(`mutation ($input: CreateTeamInput!) { createTeam(input: $input) { team { liveChatChannel { id } } } }`, { input: { name: 'Bench floor starts', useLiveChat: true } }, TOKEN);
    const floorChannelId = Number(decodeGlobalID(createTeam.team.liveChatChannel.id as string).id);
    const startBody = JSON.stringify({ query: START, variables: { input: { channelId, visitorName: 'Visitor' } } });
    const started = (body: string) => body.includes('"visitorToken":"') && body.includes('"userErrors":[]');
    results = await takeTurns(
      {
        intake: (s) => load({ url: `http://127.0.0.1:${INTAKE_PORT}/graphql`, body: startBody, headers: eachAddress ? addressOf : {}, connections: concurrency, seconds: s, check: started }),
        baseline: (s) =>
          load({ url: `http://127.0.0.1:${FLOOR_PORT}/start`, body: JSON.stringify({ channelId: floorChannelId }), headers: {}, connections: concurrency, seconds: s, check: (body) => body.includes('"id"') }),
      },
      seconds,
    );
  } finally {
    await feed?.dispose();
    await Promise.all(servers.map(stopProcess));
  }
  const { intake, baseline } = results;
  const base = { bench: 'livechat_start', concurrency, seconds, addresses: eachAddress ? concurrency : 1 };
  report({ ...base, figure: 'starts_per_s', intake: intake.rps, baseline: baseline.rps, baseline_is: 'HTTP + one INSERT of a session row', ratio: ratio(intake.rps, baseline.rps), target_min: 200, errors: intake.errors + baseline.errors });
  report({ ...base, figure: 'latency_p50_ms', intake: intake.p50, baseline: baseline.p50 });
  report({ ...base, figure: 'latency_p99_ms', intake: intake.p99, baseline: baseline.p99 });
}

/**
 * Live chat at scale: idle visitors' memory, then send→delivery latency and throughput with
 * messages flowing both ways, then chats started per second on one channel, each beside a bare
 * floor measured in the same run.
 */
export async function benchLiveChat(seconds: number) {
  const visitorCount = Number(process.env.BENCH_VISITORS || 10_000);
  const sessionCount = Math.min(visitorCount, Number(process.env.BENCH_CHAT_SESSIONS || 1000));
  const url = await freshDatabase(DB);
  const database = openPostgres(url, { max: 2 });
  await migrateDatabase(database, url);
  const agent = await createAgent(database.db, { name: 'Olivia Operator', email: 'olivia@bench.test' });
  const { token: operatorToken } = await createApiToken(database.db, { name: 'bench operator', role: 'AGENT', agentId: agent.id });
  await database.close();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql`create table relay_messages (id bigserial primary key, session_id int not null, author text not null, body text not null, created_at timestamptz not null default now())`;
  await sql.end();

  const env = {
    DATABASE_URL: url,
    INTAKE_ADMIN_TOKEN: TOKEN,
    // Every visitor comes from 127.0.0.1 here: lift the per-address caps meant for the internet.
    LIVECHAT_SESSIONS_PER_HOUR: '1000000000',
    LIVECHAT_OPEN_SESSIONS_PER_ADDRESS: '1000000000',
    LIVECHAT_MESSAGES_PER_MINUTE: '1000000000',
    WS_MAX_SOCKETS_PER_CLIENT: '1000000000',
    SSE_MAX_STREAMS_PER_CLIENT: '1000000000',
    // The one operator token follows every session's messages.
    MAX_SUBSCRIPTIONS_PER_TOKEN: '1000000000',
  };
  const intakeEnv = { ...env, PORT: String(INTAKE_PORT) };
  const visitors = await idleVisitors(intakeEnv, { id: encodeGlobalID('Agent', String(agent.id)), token: operatorToken }, visitorCount);
  await chatFlow(intakeEnv, operatorToken, visitors.slice(0, sessionCount), seconds);
  await chatStarts(intakeEnv, { id: encodeGlobalID('Agent', String(agent.id)), token: operatorToken }, seconds);
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);
}

import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresForTests, realPostgresUrl, type TestDatabase } from '../support/databases.js';
import { ADMIN_TOKEN, freePort, graphqlClient, spawnServer, wsClient, type ServerProcess } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';
import { waitFor } from '../support/wait.js';

// What a failover, a DBA or a pooler restart does to the server: every backend of its database
// terminated, again and again, under load. Needs a real PostgreSQL; CI always has one.
const available = await postgresForTests('database failover test');

/** How long backends keep being terminated, and how often. */
const STORM_MS = 8000;
const KILL_EVERY_MS = 250;
/** Bounds on every client's retries: a sender gives up on a mail or message after these. */
const MAX_ATTEMPTS = 60;
const RETRY_PAUSE_MS = 100;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A subscription that resumes with its last cursor whenever its stream ends or fails, as a
 * client should; collects the ids of what it delivered, in order, duplicates included.
 */
function resumingSubscriber(wsUrl: string, token: string, query: string, variables: Record<string, unknown>, idOf: (data: any) => string, cursorOf: (data: any) => string) {
  const delivered: string[] = [];
  let cursor: string | null = null;
  let resumes = 0;
  let stopped = false;
  const socket = wsClient(wsUrl, token);
  let dispose: () => void = () => {};
  const open = () => {
    if (stopped) return;
    dispose = socket.subscribe<any>(
      { query, variables: { ...variables, after: cursor } },
      {
        next: (value) => {
          if (!value.data) return;
          delivered.push(idOf(value.data));
          cursor = cursorOf(value.data);
        },
        // Ended or failed (the server lost its database): resume after what arrived.
        error: () => void again(),
        complete: () => void again(),
      },
    );
  };
  const again = async () => {
    if (stopped) return;
    resumes++;
    await pause(RETRY_PAUSE_MS);
    open();
  };
  open();
  return {
    delivered,
    resumes: () => resumes,
    async stop() {
      stopped = true;
      dispose();
      await socket.dispose();
    },
  };
}

describe.runIf(available)('terminating every backend of the database under load', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let smtpPort: number;
  let admin: postgres.Sql;
  let dbName: string;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    dbName = new URL(database.env.DATABASE_URL!).pathname.slice(1);
    smtpPort = await freePort();
    const env = {
      ...database.env,
      INTAKE_ADMIN_TOKEN: ADMIN_TOKEN,
      MAIL_DOMAIN: 'intake.test',
      SMTP_PORT: String(smtpPort),
      // The storm's senders retry a lot: no limit of ours should be what refuses them.
      LIVECHAT_MESSAGES_PER_MINUTE: '100000',
      LIVECHAT_SESSIONS_PER_HOUR: '100000',
      SMTP_MAX_CLIENTS_PER_ADDRESS: '50',
    } as Record<string, string>;
    server = await spawnServer(env, await freePort());
    // The killer works from another database of the cluster, so it never terminates itself.
    admin = postgres(realPostgresUrl, { max: 1, onnotice: () => {} });
  }, 90_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await admin?.end({ timeout: 1 });
    await database?.drop();
  });

  it('stays up; every 250-acknowledged mail and every acknowledged chat message is stored once; resuming subscribers get every event once', async () => {
    const client = graphqlClient(`${server.url}/graphql`, ADMIN_TOKEN);
    const wsUrl = `${server.url.replace('http', 'ws')}/graphql`;
    const { createTeam } = await client.request<any>(`mutation { createTeam(input: { name: "Failover", useLiveChat: true }) { team { id emailAlias { address } liveChatChannel { id } } } }`);
    const { id: teamId, emailAlias, liveChatChannel } = createTeam.team;
    const { createAgent } = await client.request<any>(`mutation { createAgent(input: { name: "Olga", email: "olga@staff.test" }) { agent { id } } }`);
    const { createApiToken } = await client.request<any>(`mutation ($a: ID!) { createApiToken(input: { name: "olga", role: AGENT, agentId: $a }) { token } }`, { a: createAgent.agent.id });
    const operatorToken: string = createApiToken.token;
    await client.request(`mutation ($input: AddLiveChatOperatorsInput!) { addLiveChatOperators(input: $input) { userErrors { code } } }`, {
      input: { channelId: liveChatChannel.id, agentIds: [createAgent.agent.id] },
    });
    const operator = graphqlClient(`${server.url}/graphql`, operatorToken);
    await operator.request(`mutation { setOperatorStatus(input: { accepting: true }) { userErrors { code } } }`);
    const operatorSocket = wsClient(wsUrl, operatorToken);
    operatorSocket.subscribe({ query: `subscription ($c: ID) { liveChatSessionChanged(channelId: $c) { id } }`, variables: { c: liveChatChannel.id } }, { next: () => {}, error: () => {}, complete: () => {} });
    await waitFor(
      async () =>
        (await client.request<any>(`query ($id: ID!) { liveChatChannel(id: $id) { available } }`, { id: liveChatChannel.id })).liveChatChannel.available,
      { what: 'the operator online' },
    );
    const sessions: Array<{ id: string; visitorToken: string }> = [];
    for (const visitorName of ['Vera', 'Vlad']) {
      const { startLiveChat } = await graphqlClient(`${server.url}/graphql`, null).request<any>(
        `mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) { session { id } visitorToken userErrors { code } } }`,
        { input: { channelId: liveChatChannel.id, visitorName } },
      );
      expect(startLiveChat.userErrors).toEqual([]);
      sessions.push({ id: startLiveChat.session.id, visitorToken: startLiveChat.visitorToken });
    }

    // Subscribers from the start of each stream, resuming with their cursor whenever it breaks.
    const ticketSubscribers = [0, 1].map(() =>
      resumingSubscriber(
        wsUrl,
        ADMIN_TOKEN,
        `subscription ($t: ID, $after: String) { ticketCreated(teamId: $t, after: $after) { cursor node { id } } }`,
        { t: teamId, after: null },
        (d) => d.ticketCreated.node.id,
        (d) => d.ticketCreated.cursor,
      ),
    );
    const chatSubscribers = sessions.map((s) =>
      resumingSubscriber(
        wsUrl,
        operatorToken,
        `subscription ($s: ID!, $after: String) { chatMessageAdded(sessionId: $s, after: $after) { cursor node { id } } }`,
        { s: s.id },
        (d) => d.chatMessageAdded.node.id,
        (d) => d.chatMessageAdded.cursor,
      ),
    );

    const stormEnds = Date.now() + STORM_MS;
    const storming = () => Date.now() < stormEnds;
    let terminations = 0;
    const killer = (async () => {
      while (storming()) {
        const killed = await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${dbName} and pid <> pg_backend_pid()`;
        terminations += killed.length;
        await pause(KILL_EVERY_MS);
      }
    })();

    // Mail senders: a 4xx or a lost connection is retried, as a sending server would.
    const mails = { sent: 0, accepted: [] as string[], gaveUp: [] as string[], tempFailures: 0 };
    const sendMails = async (sender: number) => {
      // At most 30 mails a sender, so the tickets fit one page of the check below (3 × 30 ≤ 100).
      for (let n = 0; storming() && n < 30; n++) {
        const messageId = `m${sender}-${n}@failover.test`;
        // A customer of its own per mail: more than MAIL_LOOP_MAX_TICKETS new tickets from one
        // sender would be quarantined by the loop guard, which is not what this test is about.
        const from = `s${sender}-${n}@failover.test`;
        mails.sent++;
        for (let attempt = 1; ; attempt++) {
          const result = await deliver(smtpPort, { from, to: emailAlias.address, raw: mail({ from, to: emailAlias.address, subject: `mail ${messageId}`, messageId }) });
          if (result.ok) {
            mails.accepted.push(messageId);
            break;
          }
          expect(result.code === 0 || (result.code >= 400 && result.code < 500), `a mail was refused for good: ${result.code} ${result.response}`).toBe(true);
          mails.tempFailures++;
          if (attempt === MAX_ATTEMPTS) {
            mails.gaveUp.push(messageId);
            break;
          }
          await pause(RETRY_PAUSE_MS);
        }
      }
    };

    // Chat senders: a failed request is retried with the same idempotency key.
    const chat = { sent: 0, acknowledged: [] as string[], gaveUp: [] as string[], failures: 0 };
    const sendMessages = async (session: { id: string; visitorToken: string }, index: number) => {
      const visitor = graphqlClient(`${server.url}/graphql`, session.visitorToken);
      // At most 150 messages a session, so a session's messages fit one page of the check below.
      for (let n = 0; storming() && n < 150; n++) {
        const key = `c${index}-${n}`;
        chat.sent++;
        for (let attempt = 1; ; attempt++) {
          try {
            const { sendChatMessage } = await visitor.request<any>(`mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { id } userErrors { code message } } }`, {
              input: { sessionId: session.id, body: `message ${key}`, clientMessageId: key },
            });
            expect(sendChatMessage.userErrors).toEqual([]);
            chat.acknowledged.push(key);
            break;
          } catch (err) {
            if ((err as Error).name === 'AssertionError') throw err;
            chat.failures++;
            if (attempt === MAX_ATTEMPTS) {
              chat.gaveUp.push(key);
              break;
            }
            await pause(RETRY_PAUSE_MS);
          }
        }
      }
    };

    await Promise.all([killer, sendMails(0), sendMails(1), sendMails(2), ...sessions.map(sendMessages)]);

    // The process is still there and serves.
    expect(server.child.exitCode, server.output().slice(-3000)).toBeNull();
    expect(server.output()).not.toContain('Cannot read properties of null');
    await waitFor(async () => (await fetch(`${server.url}/healthz`).catch(() => null))?.ok === true, { what: 'healthy after the storm' });
    expect(terminations).toBeGreaterThan(0);

    const db = postgres(database.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      // Every mail that got 250 is stored once: one kept record, one ticket.
      const stored = await db<{ message_id: string; records: number; tickets: number }[]>`
        select m.message_id, count(*)::int as records, count(distinct m.ticket_id)::int as tickets
        from inbound_mails m where m.status <> 'DUPLICATE' group by m.message_id`;
      const storedById = new Map(stored.map((r) => [r.message_id, r]));
      for (const id of mails.accepted) expect(storedById.get(id), `mail ${id}`).toMatchObject({ records: 1, tickets: 1 });
      const quarantined = await db`select reason from inbound_mails where status = 'QUARANTINED'`;
      expect(quarantined, 'quarantined for a transient failure').toEqual([]);
      const ticketTitles = await db<{ title: string; n: number }[]>`select title, count(*)::int as n from tickets group by title having count(*) > 1`;
      expect(ticketTitles, 'tickets stored twice').toEqual([]);

      // Every acknowledged chat message is stored once.
      const messages = await db<{ client_message_id: string; n: number }[]>`
        select client_message_id, count(*)::int as n from live_chat_messages where client_message_id is not null group by client_message_id`;
      const messageCount = new Map(messages.map((r) => [r.client_message_id, r.n]));
      for (const key of chat.acknowledged) expect(messageCount.get(key), `chat message ${key}`).toBe(1);
      expect([...messageCount.values()].every((n) => n === 1)).toBe(true);

      // Every resuming subscriber gets every event exactly once.
      const ticketIds = (await client.request<any>(`query ($t: ID!) { tickets(first: 100, filter: { teamId: $t }) { totalCount nodes { id } } }`, { t: teamId })).tickets;
      expect(ticketIds.totalCount).toBeLessThanOrEqual(100);
      const expectedTickets = ticketIds.nodes.map((t: any) => t.id).sort();
      for (const sub of ticketSubscribers) {
        await waitFor(() => sub.delivered.length >= expectedTickets.length, { timeout: 20_000, what: 'every ticketCreated event delivered' });
        expect([...sub.delivered].sort()).toEqual(expectedTickets);
      }
      const sessionMessages: number[] = [];
      for (const [i, session] of sessions.entries()) {
        const { liveChatSession } = await operator.request<any>(`query ($id: ID!) { liveChatSession(id: $id) { messageCount messages(first: 500) { nodes { id } } } }`, { id: session.id });
        const expectedMessages = liveChatSession.messages.nodes.map((m: any) => m.id).sort();
        sessionMessages.push(expectedMessages.length);
        await waitFor(() => chatSubscribers[i]!.delivered.length >= expectedMessages.length, { timeout: 20_000, what: 'every chat message delivered' });
        expect([...chatSubscribers[i]!.delivered].sort()).toEqual(expectedMessages);
      }

      const figures = {
        terminations,
        mails: { sent: mails.sent, acknowledged: mails.accepted.length, gaveUp: mails.gaveUp.length, temporaryFailures: mails.tempFailures, stored: stored.length },
        chat: { sent: chat.sent, acknowledged: chat.acknowledged.length, gaveUp: chat.gaveUp.length, failedAttempts: chat.failures, stored: messageCount.size },
        // Events sent: one per ticket, one per message of the session (its system messages too).
        events: {
          ticketCreated: ticketSubscribers.map((s) => ({ sent: expectedTickets.length, delivered: s.delivered.length, distinct: new Set(s.delivered).size, resumes: s.resumes() })),
          chatMessageAdded: chatSubscribers.map((s, i) => ({ sent: sessionMessages[i], delivered: s.delivered.length, distinct: new Set(s.delivered).size, resumes: s.resumes() })),
        },
      };
      console.log(`failover figures: ${JSON.stringify(figures)}`);
      expect(mails.accepted.length).toBeGreaterThan(0);
      expect(chat.acknowledged.length).toBeGreaterThan(0);
    } finally {
      await db.end({ timeout: 1 });
      await Promise.all([...ticketSubscribers, ...chatSubscribers].map((s) => s.stop()));
      await operatorSocket.dispose();
    }
  }, 60_000);
});

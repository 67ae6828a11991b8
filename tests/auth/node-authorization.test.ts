import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { queueOutboundMail } from '../../src/outbound/service.js';
import { ClientError, gql } from 'graphql-request';
import { isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.js';
import { createTeam, createTicket, createToken, createVisitorSession } from '../support/fixtures.js';
import { MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';

let server: TestServer;
let agentToken: string;
/** One existing object of every Node type, with the field the walk reads and who may read it. */
const samples: Record<string, { id: string; field: string; reader: 'agent' | 'admin' }> = {};

beforeAll(async () => {
  server = await startTestServer();
  agentToken = await createToken(server, 'AGENT', 'walker');
  const admin = server.client();
  const team = await createTeam(server, 'Walked');
  const ticket = await createTicket(server, { teamId: team.id, title: 'Walk me', description: 'first words', customerEmail: 'walk@example.com' });
  const { setTicketTags } = await admin.request<any>(
    gql`mutation ($id: ID!) { setTicketTags(input: { ticketId: $id, tags: ["walked"] }) { ticket { tags { id } customer { id } messages { nodes { id } } } } }`,
    { id: ticket.id },
  );
  const { updateTeam } = await admin.request<any>(gql`mutation ($id: ID!) { updateTeam(input: { id: $id, useWebsiteForm: true }) { team { websiteForm { id } } } }`, { id: team.id });
  const { createAgent } = await admin.request<any>(gql`mutation { createAgent(input: { name: "Walker" }) { agent { id } } }`);
  const { createSlaPolicy } = await admin.request<any>(
    gql`mutation ($team: ID!, $stage: ID!) { createSlaPolicy(input: { teamId: $team, name: "Walk fast", hours: 4, targetStageId: $stage }) { slaPolicy { id } } }`,
    { team: team.id, stage: team.stages.at(-2)!.id },
  );
  const sent = await deliver(server.smtpPort, { from: 'walk@example.com', to: `walked@${MAIL_DOMAIN}`, raw: mail({ from: 'walk@example.com', to: `walked@${MAIL_DOMAIN}`, subject: 'Secret subject' }) });
  expect(sent.ok).toBe(true);
  const { inboundMails } = await admin.request<any>(gql`{ inboundMails(first: 1) { nodes { id } } }`);
  const { apiTokens } = await admin.request<any>(gql`{ apiTokens(first: 1) { nodes { id } } }`);
  // A chat the walking agent does not operate: admins and the channel's operators read it.
  const chatTeam = await createTeam(server, 'Walked chat', { useLiveChat: true });
  const { team: withChannel } = await admin.request<any>(gql`query ($id: ID!) { team(id: $id) { liveChatChannel { id } } }`, { id: chatTeam.id });
  const { createLiveChatRule } = await admin.request<any>(
    gql`mutation ($channel: ID!) { createLiveChatRule(input: { channelId: $channel, urlPattern: "/walk", action: HIDE_BUTTON }) { rule { id } userErrors { code } } }`,
    { channel: withChannel.liveChatChannel.id },
  );
  expect(createLiveChatRule.userErrors).toEqual([]);
  const { createChatbotScript } = await admin.request<any>(
    gql`mutation { createChatbotScript(input: { title: "Walker bot", steps: [{ key: "hi", type: TEXT, message: "Hello" }] }) { script { id } userErrors { code } } }`,
  );
  expect(createChatbotScript.userErrors).toEqual([]);
  const visitor = await createVisitorSession(server, 'Walked chat visitors');
  const { sendChatMessage } = await server.client(visitor.token).request<any>(
    gql`mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { id } userErrors { code } } }`,
    { input: { sessionId: encodeGlobalID('LiveChatSession', String(visitor.sessionId)), body: 'walk with me' } },
  );
  expect(sendChatMessage.userErrors).toEqual([]);
  const outbound = await queueOutboundMail(server.app.database.db, server.app.config, {
    kind: 'REPLY',
    ticketId: Number(decodeGlobalID(ticket.id).id),
    from: `walked@${MAIL_DOMAIN}`,
    to: ['walk@example.com'],
    subject: 'Re: Walk me',
    text: 'Walking',
  });

  Object.assign(samples, {
    OutboundMail: { id: encodeGlobalID('OutboundMail', String(outbound.id)), field: 'subject', reader: 'agent' },
    Agent: { id: createAgent.agent.id, field: 'name', reader: 'agent' },
    ChatbotScript: { id: createChatbotScript.script.id, field: 'title', reader: 'agent' },
    ChatMessage: { id: sendChatMessage.message.id, field: 'body', reader: 'admin' },
    LiveChatChannel: { id: withChannel.liveChatChannel.id, field: 'name', reader: 'admin' },
    LiveChatRule: { id: createLiveChatRule.rule.id, field: 'urlPattern', reader: 'admin' },
    LiveChatSession: { id: encodeGlobalID('LiveChatSession', String(visitor.sessionId)), field: 'visitorName', reader: 'admin' },
    ApiToken: { id: apiTokens.nodes[0].id, field: 'name', reader: 'admin' },
    Customer: { id: setTicketTags.ticket.customer.id, field: 'email', reader: 'agent' },
    InboundMail: { id: inboundMails.nodes[0].id, field: 'subject', reader: 'admin' },
    SlaPolicy: { id: createSlaPolicy.slaPolicy.id, field: 'name', reader: 'admin' },
    Stage: { id: team.stages[0]!.id, field: 'name', reader: 'agent' },
    Tag: { id: setTicketTags.ticket.tags[0].id, field: 'name', reader: 'agent' },
    Team: { id: team.id, field: 'name', reader: 'agent' },
    Ticket: { id: ticket.id, field: 'title', reader: 'agent' },
    TicketMessage: { id: setTicketTags.ticket.messages.nodes[0].id, field: 'bodyText', reader: 'agent' },
    WebsiteForm: { id: updateTeam.team.websiteForm.id, field: 'title', reader: 'agent' },
  });
});
afterAll(async () => {
  await server?.stop();
});

async function outcome(promise: Promise<any>): Promise<{ data: any; codes: string[] }> {
  try {
    return { data: await promise, codes: [] };
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    return { data: error.response.data ?? null, codes: (error.response.errors ?? []).map((e: any) => e.extensions?.code) };
  }
}

describe('every Node type through node and nodes', () => {
  it('has a sample for every Node type of the schema, so a new type cannot skip the walk', () => {
    const nodeTypes = Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node'))
      .map((type) => type.name)
      .sort();
    expect(Object.keys(samples).sort()).toEqual(nodeTypes);
  });

  for (const caller of ['anonymous', 'agent', 'admin'] as const) {
    it(`answers ${caller} callers by the type's own rules`, async () => {
      const client = server.client(caller === 'anonymous' ? null : caller === 'agent' ? agentToken : undefined);
      for (const [type, sample] of Object.entries(samples)) {
        const allowed = caller === 'admin' || (caller === 'agent' && sample.reader === 'agent');
        const selection = `id __typename ... on ${type} { ${sample.field} }`;
        const single = await outcome(client.request(`query ($id: ID!) { node(id: $id) { ${selection} } }`, { id: sample.id }));
        const many = await outcome(client.request(`query ($ids: [ID!]!) { nodes(ids: $ids) { ${selection} } }`, { ids: [sample.id] }));
        for (const [root, result] of [['node', single], ['nodes', many]] as const) {
          const context = `${caller} reading ${type} through ${root}`;
          const value = root === 'node' ? result.data?.node : result.data?.nodes?.[0];
          if (allowed) {
            expect(result.codes, context).toEqual([]);
            expect(value, context).toMatchObject({ id: sample.id, __typename: type, [sample.field]: expect.anything() });
          } else {
            expect(result.codes.length, context).toBeGreaterThan(0);
            expect(new Set(result.codes), context).toEqual(new Set([caller === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN']));
            expect(value ?? null, context).toBeNull();
          }
        }
      }
    });
  }

  it('keeps admin-only types closed on every parent field that reaches them', async () => {
    const agent = server.client(agentToken);
    const team = await agent.request<any>(gql`{ teams { id } }`);
    const viaTeam = await outcome(agent.request(gql`query ($id: ID!) { team(id: $id) { name slaPolicies { name } } }`, { id: team.teams[0].id }));
    expect(viaTeam.codes).toContain('FORBIDDEN');
    expect(JSON.stringify(viaTeam.data)).not.toContain('Walk fast');
    // A ticket created after the policy has an SLA status that names it.
    const timed = await createTicket(server, { teamId: samples.Team!.id, title: 'Timed' }, agentToken);
    const ticket = await outcome(agent.request(gql`query ($id: ID!) { ticket(id: $id) { slaStatuses { policy { name } } } }`, { id: timed.id }));
    expect(ticket.codes).toContain('FORBIDDEN');
    expect(JSON.stringify(ticket.data)).not.toContain('Walk fast');
    // What agents need of SLAs stays open to them.
    const status = await agent.request<any>(gql`query ($id: ID!) { ticket(id: $id) { slaDeadline slaStatuses { deadline status } } }`, { id: timed.id });
    expect(status.ticket.slaStatuses).toHaveLength(1);
  });
});

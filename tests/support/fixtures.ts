import { decodeGlobalID } from '@pothos/plugin-relay';
import { eq } from 'drizzle-orm';
import { gql } from 'graphql-request';
import { createVisitorToken } from '../../src/auth/service.js';
import { liveChatChannels, liveChatSessions } from '../../src/livechat/tables.js';
import type { TestServer } from './server.js';

export async function createTeam(server: TestServer, name: string, extra: Record<string, unknown> = {}) {
  const { createTeam } = await server.client().request<any>(
    gql`mutation ($input: CreateTeamInput!) { createTeam(input: $input) { team { id name stages { id name closed } } userErrors { field code message } } }`,
    { input: { name, ...extra } },
  );
  if (createTeam.userErrors.length) throw new Error(JSON.stringify(createTeam.userErrors));
  return createTeam.team as { id: string; name: string; stages: { id: string; name: string; closed: boolean }[] };
}

export async function createTicket(server: TestServer, input: Record<string, unknown>, token?: string) {
  const { createTicket } = await server.client(token).request<any>(
    gql`mutation ($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id number title priority } userErrors { field code message } } }`,
    { input },
  );
  if (createTicket.userErrors.length) throw new Error(JSON.stringify(createTicket.userErrors));
  return createTicket.ticket as { id: string; number: number; title: string; priority: string };
}

export async function createToken(server: TestServer, role: 'ADMIN' | 'AGENT', name = `${role.toLowerCase()} token`) {
  // An AGENT token speaks for an agent: one named like the token.
  const agentId = role === 'AGENT' ? (await createAgent(server, name)).id : null;
  const { createApiToken } = await server.client().request<any>(
    gql`mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { name role } userErrors { code } } }`,
    { input: { name, role, agentId } },
  );
  return createApiToken.token as string;
}

export async function createAgent(server: TestServer, name: string, email: string | null = null): Promise<{ id: string; name: string }> {
  const { createAgent } = await server.client().request<any>(
    gql`mutation ($input: CreateAgentInput!) { createAgent(input: $input) { agent { id name } userErrors { code } } }`,
    { input: { name, email } },
  );
  return createAgent.agent;
}

/**
 * A chat visitor's token for a fresh waiting session of a new live chat team: a visitor token
 * must name a real session (visitor_tokens.session_id references live_chat_sessions).
 */
export async function createVisitorSession(server: TestServer, name = `Visitor team ${Math.random().toString(36).slice(2, 8)}`) {
  const team = await createTeam(server, name, { useLiveChat: true });
  const db = server.app.database.db;
  const [channel] = await db.select().from(liveChatChannels).where(eq(liveChatChannels.teamId, Number(decodeGlobalID(team.id).id)));
  const [session] = await db
    .insert(liveChatSessions)
    .values({ channelId: channel!.id, status: 'WAITING', visitorName: 'Probe visitor', sessionKeyHash: 'probe' })
    .returning();
  const { token } = await createVisitorToken(db, session!.id);
  return { token, sessionId: session!.id, channelId: channel!.id };
}

import { gql } from 'graphql-request';
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

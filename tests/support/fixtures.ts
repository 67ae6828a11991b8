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
  const { createApiToken } = await server.client().request<any>(
    gql`mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { name role } userErrors { code } } }`,
    { input: { name, role } },
  );
  return createApiToken.token as string;
}

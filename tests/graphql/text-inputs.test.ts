import { ClientError, gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTicket } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let team: { id: string };
let ticket: { id: string };

beforeAll(async () => {
  server = await startTestServer();
  team = await createTeam(server, 'Text Checks');
  ticket = await createTicket(server, { teamId: team.id, title: 'Plain' });
});
afterAll(async () => {
  await server?.stop();
});

// What a client can put in JSON that PostgreSQL text cannot hold, or that is not Unicode at all.
const BAD = { NUL: 'before\u0000after', 'lone high surrogate': 'broken \ud83d emoji', 'lone low surrogate': '\ude00 alone' };

describe('text inputs the database cannot store', () => {
  const cases = (id: () => { team: string; ticket: string }) => [
    { mutation: 'createTicket', input: (bad: string) => ({ teamId: id().team, title: bad }), field: ['input', 'title'] },
    { mutation: 'createTicket', input: (bad: string) => ({ teamId: id().team, title: 'ok', description: bad }), field: ['input', 'description'] },
    { mutation: 'createTicket', input: (bad: string) => ({ teamId: id().team, title: 'ok', customerEmail: 'a@b.example', customerName: bad }), field: ['input', 'customerName'] },
    { mutation: 'addTicketNote', input: (bad: string) => ({ ticketId: id().ticket, body: bad }), field: ['input', 'body'] },
    { mutation: 'setTicketTags', input: (bad: string) => ({ ticketId: id().ticket, tags: ['fine', bad] }), field: ['input', 'tags', '1'] },
    { mutation: 'createTeam', input: (bad: string) => ({ name: bad }), field: ['input', 'name'] },
    { mutation: 'createAgent', input: (bad: string) => ({ name: bad }), field: ['input', 'name'] },
    { mutation: 'createApiToken', input: (bad: string) => ({ name: bad, role: 'AGENT' }), field: ['input', 'name'] },
  ];
  const inputTypes: Record<string, string> = {
    createTicket: 'CreateTicketInput',
    addTicketNote: 'AddTicketNoteInput',
    setTicketTags: 'SetTicketTagsInput',
    createTeam: 'CreateTeamInput',
    createAgent: 'CreateAgentInput',
    createApiToken: 'CreateApiTokenInput',
  };

  for (const [kind, bad] of Object.entries(BAD)) {
    it(`answers a ${kind} with an INVALID_TEXT userError naming the field, and stores nothing`, async () => {
      for (const { mutation, input, field } of cases(() => ({ team: team.id, ticket: ticket.id }))) {
        const result = await server.client().request<any>(`mutation ($input: ${inputTypes[mutation]}!) { ${mutation}(input: $input) { userErrors { field code message } } }`, {
          input: input(bad),
        });
        expect(result[mutation].userErrors, `${mutation} ${field.join('.')}`).toEqual([{ field, code: 'INVALID_TEXT', message: expect.stringMatching(/NUL character or an unpaired UTF-16 surrogate/) }]);
      }
      const { node } = await server.client().request<any>(gql`query ($id: ID!) { node(id: $id) { ... on Ticket { tags { name } messages { totalCount } } } }`, { id: ticket.id });
      expect(node).toEqual({ tags: [], messages: { totalCount: 0 } });
      const { teams } = await server.client().request<any>(gql`{ teams { name } }`);
      expect(teams).toEqual([{ name: 'Text Checks' }]);
    });
  }

  it('keeps emoji and other paired surrogates', async () => {
    const created = await createTicket(server, { teamId: team.id, title: 'Thanks 😀 — ça va' });
    expect(created.title).toBe('Thanks 😀 — ça va');
  });

  it('answers a query argument with BAD_USER_INPUT, and an anonymous caller still with UNAUTHENTICATED', async () => {
    const query = await server.client().request(gql`query ($after: String) { tickets(after: $after) { totalCount } }`, { after: BAD.NUL }).catch((e: ClientError) => e.response);
    expect((query as any).errors.map((e: any) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
    const anonymous = await server.client(null).request(gql`mutation { createTeam(input: { name: "a\\u0000b" }) { userErrors { code } } }`).catch((e: ClientError) => e.response);
    expect((anonymous as any).errors.map((e: any) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });
});

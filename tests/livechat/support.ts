import { encodeGlobalID } from '@pothos/plugin-relay';
import { gql } from 'graphql-request';
import { createAgent, createApiToken } from '../../src/auth/service.js';
import { createTeam } from '../support/fixtures.js';
import { subscribe, type TestServer } from '../support/server.js';

export const USER_ERRORS = 'userErrors { field code message }';
export const SESSION_FIELDS = 'id status queuePosition visitorName operator { id name } messageCount';

/** An agent with its own AGENT token, as an operator would have. */
export async function createOperator(server: TestServer, name: string) {
  const agent = await createAgent(server.app.database.db, { name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@staff.test` });
  const { token } = await createApiToken(server.app.database.db, { name: `${name} token`, role: 'AGENT', agentId: agent.id });
  return { id: encodeGlobalID('Agent', String(agent.id)), name, token };
}
export type Operator = Awaited<ReturnType<typeof createOperator>>;

/** A team with live chat on, and its channel's id. */
export async function createChatTeam(server: TestServer, name: string, extra: Record<string, unknown> = {}) {
  const team = await createTeam(server, name, { useLiveChat: true, ...extra });
  const { team: read } = await server.client().request<any>(gql`query ($id: ID!) { team(id: $id) { liveChatChannel { id name } } }`, { id: team.id });
  return { team, channelId: read.liveChatChannel.id as string };
}

export async function request(server: TestServer, token: string | null, query: string, variables: Record<string, unknown> = {}) {
  return server.client(token).request<any>(query, variables);
}

export async function addOperators(server: TestServer, channelId: string, operators: Operator[]) {
  const { addLiveChatOperators } = await request(server, undefined as any, `mutation ($input: AddLiveChatOperatorsInput!) { addLiveChatOperators(input: $input) { ${USER_ERRORS} } }`, {
    input: { channelId, agentIds: operators.map((o) => o.id) },
  });
  if (addLiveChatOperators.userErrors.length) throw new Error(JSON.stringify(addLiveChatOperators.userErrors));
}

export async function operatorStates(server: TestServer, channelId: string) {
  const { liveChatChannel } = await server
    .client()
    .request<any>(gql`query ($id: ID!) { liveChatChannel(id: $id) { available operators { agent { name } accepting connected openSessions languages } } }`, { id: channelId });
  return liveChatChannel as { available: boolean; operators: { agent: { name: string }; accepting: boolean; connected: boolean; openSessions: number; languages: string[] }[] };
}

/** Waits for a fact the server reports, polling; fails after `ms`. */
export async function waitUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const OPERATOR_FEED = `subscription ($channelId: ID) { liveChatSessionChanged(channelId: $channelId) { ${SESSION_FIELDS} } }`;

/**
 * Puts an operator online: accepting, with its languages, and connected through an open
 * liveChatSessionChanged(channelId) subscription; returns that subscription once the server
 * counts the operator connected.
 */
export async function goOnline(server: TestServer, channelId: string, operator: Operator, languages: string[] = []) {
  const { setOperatorStatus } = await request(server, operator.token, `mutation ($input: SetOperatorStatusInput!) { setOperatorStatus(input: $input) { agent { name } ${USER_ERRORS} } }`, {
    input: { accepting: true, languages },
  });
  if (setOperatorStatus.userErrors.length) throw new Error(JSON.stringify(setOperatorStatus.userErrors));
  const socket = server.wsClient(operator.token);
  const feed = subscribe(socket, OPERATOR_FEED, { channelId });
  await waitUntil(
    () => operatorStates(server, channelId),
    (s) => s.operators.some((o) => o.agent.name === operator.name && o.connected),
  );
  return { feed, socket };
}

export async function startChat(server: TestServer, input: Record<string, unknown>) {
  const { startLiveChat } = await server
    .client(null)
    .request<any>(`mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) { session { ${SESSION_FIELDS} } visitorToken sessionKey ${USER_ERRORS} } }`, { input });
  return startLiveChat as { session: any; visitorToken: string; sessionKey: string; userErrors: any[] };
}

export async function send(server: TestServer, token: string, input: Record<string, unknown>) {
  const { sendChatMessage } = await request(server, token, `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { id body operatorOnly clientMessageId author { kind name } } ${USER_ERRORS} } }`, { input });
  return sendChatMessage as { message: any; userErrors: any[] };
}

export async function close(server: TestServer, token: string, sessionId: string) {
  const { closeLiveChat } = await request(server, token, `mutation ($input: CloseLiveChatInput!) { closeLiveChat(input: $input) { session { id status closedAt } ${USER_ERRORS} } }`, { input: { sessionId } });
  return closeLiveChat;
}

export const MESSAGES = `query ($id: ID!) { liveChatSession(id: $id) { messages(first: 30) { edges { cursor node { body operatorOnly author { kind name } } } } } }`;

export async function bodies(server: TestServer, token: string | undefined, sessionId: string): Promise<string[]> {
  const { liveChatSession } = await request(server, token as string, MESSAGES, { id: sessionId });
  return liveChatSession.messages.edges.map((e: any) => e.node.body);
}

import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { addOperators, createChatTeam, createOperator, goOnline, operatorStates, request, startChat, USER_ERRORS, waitUntil } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const CHANNEL = `id name available buttonText welcomeMessage inputPlaceholder headerBackgroundColor titleColor buttonBackgroundColor buttonTextColor maxSessionsPerOperator team { name }`;
const UPDATE = `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { channel { ${CHANNEL} } ${USER_ERRORS} } }`;
const UPDATE_TEAM = `mutation ($input: UpdateTeamInput!) { updateTeam(input: $input) { team { useLiveChat liveChatChannel { id available } } ${USER_ERRORS} } }`;

describe('live chat channel per team', () => {
  it('is created with the team name and the default options when live chat is switched on', async () => {
    const { team, channelId } = await createChatTeam(server, 'Chat Alpha');
    const { liveChatChannel } = await server.client().request<any>(gql`query ($id: ID!) { liveChatChannel(id: $id) { ${CHANNEL} } }`, { id: channelId });
    expect(liveChatChannel).toEqual({
      id: channelId,
      name: 'Chat Alpha',
      available: false,
      buttonText: 'Have a Question? Chat with us.',
      welcomeMessage: 'How may I help you?',
      inputPlaceholder: 'Say something...',
      headerBackgroundColor: '#875A7B',
      titleColor: '#FFFFFF',
      buttonBackgroundColor: '#875A7B',
      buttonTextColor: '#FFFFFF',
      maxSessionsPerOperator: null,
      team: { name: team.name },
    });
  });

  it('has no channel while live chat was never on, and gets one when switched on later', async () => {
    const { createTeam } = await server.client().request<any>(`mutation { createTeam(input: { name: "Chat Later" }) { team { id liveChatChannel { id } } } }`);
    expect(createTeam.team.liveChatChannel).toBeNull();
    const { updateTeam } = await server.client().request<any>(UPDATE_TEAM, { input: { id: createTeam.team.id, useLiveChat: true } });
    expect(updateTeam.team.liveChatChannel).toMatchObject({ available: false });
  });

  it('renames, validates colours with userErrors and resets them', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Colours');
    const changed = (await server.client().request<any>(UPDATE, { input: { channelId, name: 'Talk to us', headerBackgroundColor: '#112233', buttonTextColor: '#aabbcc', maxSessionsPerOperator: 2 } }))
      .updateLiveChatChannel;
    expect(changed.userErrors).toEqual([]);
    expect(changed.channel).toMatchObject({ name: 'Talk to us', headerBackgroundColor: '#112233', buttonTextColor: '#AABBCC', maxSessionsPerOperator: 2 });

    const bad = (await server.client().request<any>(UPDATE, { input: { channelId, titleColor: 'red', buttonBackgroundColor: '#12345', name: 'ignored' } })).updateLiveChatChannel;
    expect(bad.channel).toBeNull();
    expect(bad.userErrors.map((e: any) => [e.field, e.code])).toEqual([
      [['input', 'titleColor'], 'INVALID_COLOR'],
      [['input', 'buttonBackgroundColor'], 'INVALID_COLOR'],
    ]);

    const reset = (await server.client().request<any>(UPDATE, { input: { channelId, resetColors: true, maxSessionsPerOperator: null } })).updateLiveChatChannel;
    expect(reset.channel).toMatchObject({ name: 'Talk to us', headerBackgroundColor: '#875A7B', titleColor: '#FFFFFF', buttonBackgroundColor: '#875A7B', buttonTextColor: '#FFFFFF', maxSessionsPerOperator: null });
  });

  it('switched off: kept, unavailable, refuses visitors; switched on again: restored', async () => {
    const { team, channelId } = await createChatTeam(server, 'Chat Switch');
    const ann = await createOperator(server, 'Switch Ann');
    await addOperators(server, channelId, [ann]);
    const { feed } = await goOnline(server, channelId, ann);
    expect((await operatorStates(server, channelId)).available).toBe(true);

    const off = (await server.client().request<any>(UPDATE_TEAM, { input: { id: team.id, useLiveChat: false } })).updateTeam.team;
    expect(off).toEqual({ useLiveChat: false, liveChatChannel: { id: channelId, available: false } });
    const refused = await startChat(server, { channelId, visitorName: 'Vera' });
    expect(refused.session).toBeNull();
    expect(refused.userErrors).toEqual([{ field: ['input', 'channelId'], code: 'CHANNEL_UNAVAILABLE', message: expect.any(String) }]);

    const on = (await server.client().request<any>(UPDATE_TEAM, { input: { id: team.id, useLiveChat: true } })).updateTeam.team;
    expect(on).toEqual({ useLiveChat: true, liveChatChannel: { id: channelId, available: true } });
    expect((await startChat(server, { channelId, visitorName: 'Vera' })).session).toMatchObject({ status: 'OPEN', operator: { name: 'Switch Ann' } });
    feed.dispose();
  });

  it('refuses channel options to agents and unknown channels', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Rights');
    const bob = await createOperator(server, 'Rights Bob');
    await expect(request(server, bob.token, UPDATE, { input: { channelId, name: 'mine' } })).rejects.toThrow(/ADMIN/);
    await expect(request(server, bob.token, `query ($id: ID!) { liveChatChannel(id: $id) { name } }`, { id: channelId })).rejects.toThrow(/Forbidden/);
    const missing = (await server.client().request<any>(UPDATE, { input: { channelId: 'bm9wZQ==', name: 'x' } })).updateLiveChatChannel;
    expect(missing.userErrors[0]).toMatchObject({ field: ['input', 'channelId'], code: 'INVALID_ID' });
  });
});

describe('operators', () => {
  it('admins add and remove operators; agents join and leave themselves', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Crew');
    const ann = await createOperator(server, 'Crew Ann');
    const bob = await createOperator(server, 'Crew Bob');
    await addOperators(server, channelId, [ann]);
    const names = async () => (await operatorStates(server, channelId)).operators.map((o) => o.agent.name);
    expect(await names()).toEqual(['Crew Ann']);

    const joined = (await request(server, bob.token, `mutation ($input: JoinLiveChatChannelInput!) { joinLiveChatChannel(input: $input) { channel { id } ${USER_ERRORS} } }`, { input: { channelId } }))
      .joinLiveChatChannel;
    expect(joined).toEqual({ channel: { id: channelId }, userErrors: [] });
    expect(await names()).toEqual(['Crew Ann', 'Crew Bob']);
    // Now an operator, Bob reads the channel.
    expect((await request(server, bob.token, `query ($id: ID!) { liveChatChannel(id: $id) { name } }`, { id: channelId })).liveChatChannel.name).toBe('Chat Crew');

    await request(server, bob.token, `mutation ($input: LeaveLiveChatChannelInput!) { leaveLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId } });
    await request(server, undefined as any, `mutation ($input: RemoveLiveChatOperatorsInput!) { removeLiveChatOperators(input: $input) { ${USER_ERRORS} } }`, { input: { channelId, agentIds: [ann.id] } });
    expect(await names()).toEqual([]);
    await expect(request(server, ann.token, `mutation ($input: AddLiveChatOperatorsInput!) { addLiveChatOperators(input: $input) { ${USER_ERRORS} } }`, { input: { channelId, agentIds: [ann.id] } })).rejects.toThrow(/ADMIN/);
  });

  it('online = accepting and connected; closing the socket makes the channel unavailable', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Presence');
    const ann = await createOperator(server, 'Presence Ann');
    await addOperators(server, channelId, [ann]);
    const { setOperatorStatus } = await request(server, ann.token, `mutation { setOperatorStatus(input: { accepting: false, languages: ["fr", "en-GB"] }) { agent { name } ${USER_ERRORS} } }`);
    expect(setOperatorStatus).toEqual({ agent: { name: 'Presence Ann' }, userErrors: [] });
    let state = await operatorStates(server, channelId);
    expect(state.available).toBe(false);
    expect(state.operators[0]).toMatchObject({ accepting: false, connected: false, languages: ['fr', 'en-GB'] });

    const { feed, socket } = await goOnline(server, channelId, ann, ['fr']);
    state = await operatorStates(server, channelId);
    expect(state).toMatchObject({ available: true, operators: [{ accepting: true, connected: true, languages: ['fr'] }] });

    await request(server, ann.token, `mutation { setOperatorStatus(input: { accepting: false }) { ${USER_ERRORS} } }`);
    expect((await operatorStates(server, channelId)).available).toBe(false);
    await request(server, ann.token, `mutation { setOperatorStatus(input: { accepting: true }) { ${USER_ERRORS} } }`);
    expect((await operatorStates(server, channelId)).available).toBe(true);

    feed.dispose();
    await socket.dispose();
    const after = await waitUntil(
      () => operatorStates(server, channelId),
      // available and operators are two resolvers, on two pool connections under PostgreSQL:
      // wait until both have seen the presence row go.
      (s) => !s.available && s.operators[0]?.connected === false,
    );
    expect(after).toMatchObject({ available: false, operators: [{ accepting: true, connected: false }] });
  });

  it('setOperatorStatus needs a token bound to an agent, and valid languages', async () => {
    const { setOperatorStatus } = await server.client().request<any>(`mutation { setOperatorStatus(input: { accepting: true }) { agent { name } ${USER_ERRORS} } }`);
    expect(setOperatorStatus.userErrors[0].code).toBe('NOT_AN_AGENT');
    const ann = await createOperator(server, 'Lang Ann');
    const bad = (await request(server, ann.token, `mutation { setOperatorStatus(input: { accepting: true, languages: ["<script>"] }) { ${USER_ERRORS} } }`)).setOperatorStatus;
    expect(bad.userErrors[0]).toMatchObject({ field: ['input', 'languages'], code: 'INVALID_LANGUAGE' });
  });
});

import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';

const TEAM_FIELDS = `id name useEmailAlias useWebsiteForm useLiveChat emailAlias { address localPart domain } stages { id name sequence closed }`;

const CREATE = gql`
  mutation ($input: CreateTeamInput!) {
    createTeam(input: $input) { team { ${TEAM_FIELDS} } userErrors { field message code } }
  }
`;
const UPDATE = gql`
  mutation ($input: UpdateTeamInput!) {
    updateTeam(input: $input) { team { ${TEAM_FIELDS} } userErrors { field message code } }
  }
`;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function createTeam(input: Record<string, unknown>) {
  const { createTeam } = await server.client().request<any>(CREATE, { input });
  return createTeam;
}
async function updateTeam(input: Record<string, unknown>) {
  const { updateTeam } = await server.client().request<any>(UPDATE, { input });
  return updateTeam;
}

describe('teams', () => {
  it('creates a team with its alias, channel switches and the default stages', async () => {
    const { team, userErrors } = await createTeam({ name: 'Service Après-Vente' });
    expect(userErrors).toEqual([]);
    expect(team).toMatchObject({
      name: 'Service Après-Vente',
      useEmailAlias: true,
      useWebsiteForm: false,
      useLiveChat: false,
      emailAlias: { address: `service-apres-vente@${MAIL_DOMAIN}`, localPart: 'service-apres-vente', domain: MAIL_DOMAIN },
    });
    expect(team.stages.map((s: any) => [s.name, s.sequence, s.closed])).toEqual([
      ['New', 1, false],
      ['In Progress', 2, false],
      ['Solved', 3, true],
      ['Cancelled', 4, true],
    ]);
  });

  it('suffixes -2, -3 … when the derived alias is taken', async () => {
    const first = await createTeam({ name: 'Billing' });
    const second = await createTeam({ name: 'billing' });
    const third = await createTeam({ name: 'BILLING ' });
    expect([first, second, third].map((r) => r.team.emailAlias.localPart)).toEqual(['billing', 'billing-2', 'billing-3']);
  });

  it('takes an explicit alias and refuses one already used, naming the field', async () => {
    const { team } = await createTeam({ name: 'Returns', emailAlias: `Returns-Desk@${MAIL_DOMAIN}` });
    expect(team.emailAlias.address).toBe(`returns-desk@${MAIL_DOMAIN}`);
    const clash = await createTeam({ name: 'Other', emailAlias: 'returns-desk' });
    expect(clash.team).toBeNull();
    expect(clash.userErrors).toEqual([{ field: ['input', 'emailAlias'], code: 'ALIAS_TAKEN', message: expect.stringContaining('returns-desk') }]);
  });

  it('refuses bad input with field paths and codes', async () => {
    const result = await createTeam({ name: '  ', emailAlias: 'no spaces allowed' });
    expect(result.team).toBeNull();
    expect(result.userErrors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: ['input', 'name'], code: 'REQUIRED' }),
        expect.objectContaining({ field: ['input', 'emailAlias'], code: 'INVALID_ALIAS' }),
      ]),
    );
    const foreign = await createTeam({ name: 'Foreign', emailAlias: 'help@elsewhere.example' });
    expect(foreign.userErrors).toEqual([expect.objectContaining({ field: ['input', 'emailAlias'], code: 'UNKNOWN_DOMAIN' })]);
    const tooLong = await createTeam({ name: 'x'.repeat(121) });
    expect(tooLong.userErrors).toEqual([expect.objectContaining({ field: ['input', 'name'], code: 'TOO_LONG' })]);
  });

  it('edits the alias, and restores it from the name when cleared while the channel is on', async () => {
    const { team } = await createTeam({ name: 'Field Service' });
    const edited = await updateTeam({ id: team.id, emailAlias: 'onsite' });
    expect(edited.team.emailAlias.address).toBe(`onsite@${MAIL_DOMAIN}`);

    const renamed = await updateTeam({ id: team.id, name: 'Field Repairs' });
    expect(renamed.team.emailAlias.localPart).toBe('onsite');

    const cleared = await updateTeam({ id: team.id, emailAlias: '' });
    expect(cleared.team.emailAlias.localPart).toBe('field-repairs');

    await updateTeam({ id: team.id, emailAlias: 'onsite' });
    const nulled = await updateTeam({ id: team.id, emailAlias: null });
    expect(nulled.team.emailAlias.localPart).toBe('field-repairs');
  });

  it('hides the alias while the email channel is off and brings it back when on', async () => {
    const { team } = await createTeam({ name: 'Quiet Team', useEmailAlias: false });
    expect(team.useEmailAlias).toBe(false);
    expect(team.emailAlias).toBeNull();
    const on = await updateTeam({ id: team.id, useEmailAlias: true, useWebsiteForm: true, useLiveChat: true });
    expect(on.team).toMatchObject({ useEmailAlias: true, useWebsiteForm: true, useLiveChat: true });
    expect(on.team.emailAlias.localPart).toBe('quiet-team');
    // Cleared while off: nothing to show; switching on derives it again.
    await updateTeam({ id: team.id, useEmailAlias: false });
    const clearedOff = await updateTeam({ id: team.id, emailAlias: '' });
    expect(clearedOff.team.emailAlias).toBeNull();
    const back = await updateTeam({ id: team.id, useEmailAlias: true });
    expect(back.team.emailAlias.localPart).toBe('quiet-team');
  });

  it('refuses an unknown or malformed team id', async () => {
    const bad = await updateTeam({ id: 'nonsense', name: 'x' });
    expect(bad.userErrors).toEqual([expect.objectContaining({ field: ['input', 'id'], code: 'INVALID_ID' })]);
    const missing = await updateTeam({ id: Buffer.from('Team:999999').toString('base64'), name: 'x' });
    expect(missing.userErrors).toEqual([expect.objectContaining({ field: ['input', 'id'], code: 'NOT_FOUND' })]);
  });

  it('lists teams and reads one back, also through node()', async () => {
    const { team } = await createTeam({ name: 'Zebra Desk' });
    const data = await server.client().request<any>(
      gql`
        query ($id: ID!) {
          teams { id name }
          team(id: $id) { name }
          node(id: $id) { id ... on Team { name } }
        }
      `,
      { id: team.id },
    );
    expect(data.teams.map((t: any) => t.name)).toContain('Zebra Desk');
    expect(data.team.name).toBe('Zebra Desk');
    expect(data.node).toEqual({ id: team.id, name: 'Zebra Desk' });
  });
});

describe('stages', () => {
  it('adds, renames, closes and reorders stages', async () => {
    const { team } = await createTeam({ name: 'Pipeline' });
    const client = server.client();
    const added = await client.request<any>(
      gql`mutation ($input: CreateStageInput!) { createStage(input: $input) { stage { id name sequence closed } userErrors { code } } }`,
      { input: { teamId: team.id, name: 'Waiting on Customer' } },
    );
    expect(added.createStage.stage).toMatchObject({ name: 'Waiting on Customer', sequence: 5, closed: false });

    const renamed = await client.request<any>(
      gql`mutation ($input: UpdateStageInput!) { updateStage(input: $input) { stage { name closed } userErrors { code } } }`,
      { input: { stageId: added.createStage.stage.id, name: 'Waiting', closed: true } },
    );
    expect(renamed.updateStage.stage).toEqual({ name: 'Waiting', closed: true });

    const ids = [added.createStage.stage.id, ...team.stages.map((s: any) => s.id)];
    const reordered = await client.request<any>(
      gql`mutation ($input: ReorderStagesInput!) { reorderStages(input: $input) { stages { name sequence } userErrors { code } } }`,
      { input: { teamId: team.id, stageIds: ids } },
    );
    expect(reordered.reorderStages.stages.map((s: any) => s.name)).toEqual(['Waiting', 'New', 'In Progress', 'Solved', 'Cancelled']);

    const partial = await client.request<any>(
      gql`mutation ($input: ReorderStagesInput!) { reorderStages(input: $input) { stages { name } userErrors { field code } } }`,
      { input: { teamId: team.id, stageIds: ids.slice(1) } },
    );
    expect(partial.reorderStages.userErrors).toEqual([{ field: ['input', 'stageIds'], code: 'INVALID_ORDER' }]);
  });
});

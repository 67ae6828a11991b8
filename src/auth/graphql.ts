import { builder } from '../graphql/builder.js';
import { payloadType, UserError, withUserErrors } from '../graphql/user-errors.js';
import { createAgent, createApiToken, type AgentRow, type ApiTokenRow, type Viewer } from './service.js';

const Role = builder.enumType('Role', {
  description: 'What a token may do.',
  values: {
    ADMIN: { description: 'Everything, including configuration (teams, tokens).' },
    AGENT: { description: 'Work tickets and chats; no configuration.' },
  } as const,
});

export const Agent = builder.drizzleNode('agents', {
  name: 'Agent',
  description: 'A person who works tickets.',
  id: { column: (a) => a.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    // Live chat visitors (no API token) reach agents as their operators: name only.
    email: t.string({ nullable: true, description: 'Mail address, if given; null for live chat visitors.', resolve: (a, _args, ctx) => (ctx.viewer ? a.email : null) }),
  }),
});

const ApiToken = builder.objectRef<ApiTokenRow>('ApiToken').implement({
  description: 'A bearer token. Only a digest of it is stored, so its value is shown once, at creation.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the token is for, e.g. "Zapier".' }),
    role: t.expose('role', { type: Role, description: 'What it may do.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

const ViewerType = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The caller, as its token identifies it.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name of the token.' }),
    role: t.expose('role', { type: Role, description: 'What the token may do.' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerType,
    nullable: true,
    skipTypeScopes: true,
    description: 'Who is calling: null without a valid token. Public, so clients can check a token.',
    resolve: (_root, _args, ctx) => ctx.viewer,
  }),
);

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  description: 'A new bearer token.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'What the token is for, at most 120 characters.' }),
    role: t.field({ type: Role, required: true, description: 'What it may do.' }),
  }),
});

const CreateApiTokenPayload = builder
  .objectRef<{ token?: string; apiToken?: ApiTokenRow; userErrors: typeof UserError.$inferType[] }>('CreateApiTokenPayload')
  .implement({
    description: 'Result of createApiToken.',
    fields: (t) => ({
      token: t.string({
        nullable: true,
        description: 'The secret to send as "Authorization: Bearer <token>". Shown this once: store it now.',
        resolve: (p) => p.token ?? null,
      }),
      apiToken: t.field({ type: ApiToken, nullable: true, description: 'The stored token, without its secret.', resolve: (p) => p.apiToken ?? null }),
      userErrors: t.field({ type: [UserError], description: 'Why nothing changed; empty on success.', resolve: (p) => p.userErrors }),
    }),
  });

const CreateAgentInput = builder.inputType('CreateAgentInput', {
  description: 'A new agent.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Display name.' }),
    email: t.string({ description: 'Mail address, unique among agents.' }),
  }),
});

const CreateAgentPayload = payloadType<AgentRow, 'agent'>('CreateAgentPayload', 'Result of createAgent.', 'agent', Agent, 'The agent, when created.');

builder.mutationFields((t) => ({
  createApiToken: t.field({
    authScopes: { admin: true },
    type: CreateApiTokenPayload,
    description: 'Creates a bearer token and returns its secret once. ADMIN only.',
    args: { input: t.arg({ type: CreateApiTokenInput, required: true, description: 'Name and role.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const { token, row } = await createApiToken(ctx.db, input);
        return { token, apiToken: row };
      }),
  }),
  createAgent: t.field({
    authScopes: { admin: true },
    type: CreateAgentPayload,
    description: 'Adds an agent who can be assigned tickets. ADMIN only.',
    args: { input: t.arg({ type: CreateAgentInput, required: true, description: 'The agent.' }) },
    resolve: (_root, { input }, ctx) => withUserErrors(async () => ({ agent: await createAgent(ctx.db, input) })),
  }),
}));

import { isNull } from 'drizzle-orm';
import { builder } from '../graphql/builder.js';
import { connectionTypeOptions, payloadType, requireIdOf, UserError, withUserErrors } from '../graphql/user-errors.js';
import { fail } from '../errors.js';
import { isStaff, type Principal } from './principal.js';
import { createAgent, createApiToken, findAgent, revokeApiToken, type AgentRow, type ApiTokenRow } from './service.js';
import { agents, apiTokens } from './tables.js';

const Role = builder.enumType('Role', {
  description: 'What a token may do.',
  values: {
    ADMIN: { description: 'Everything, including configuration (teams, tokens).' },
    AGENT: { description: 'Work tickets and chats as its agent; no configuration.' },
  } as const,
});

const PrincipalKind = builder.enumType('PrincipalKind', {
  description: 'What kind of caller a token makes.',
  values: {
    ADMIN: { description: 'An ADMIN token: everything.' },
    AGENT: { description: 'An AGENT token, speaking for its agent.' },
    VISITOR: { description: "A chat visitor's token: that chat session only." },
  } as const,
});

export const Agent = builder.drizzleNode('agents', {
  name: 'Agent',
  description: 'A person who works tickets.',
  id: { column: (a) => a.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    // Chat visitors, and anonymous callers starting a chat, reach agents as operators: name only.
    email: t.string({ nullable: true, description: 'Mail address, if given; shown to staff only (null for chat visitors and anonymous callers).', resolve: (a, _args, ctx) => (isStaff(ctx.principal) ? a.email : null) }),
  }),
});

const ApiToken = builder.drizzleNode('apiTokens', {
  name: 'ApiToken',
  description: 'A bearer token. Only a digest of it is stored, so its value is shown once, at creation. ADMIN only.',
  authScopes: { admin: true },
  id: { column: (token) => token.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the token is for, e.g. "Zapier".' }),
    role: t.expose('role', { type: Role, description: 'What it may do.' }),
    agent: t.relation('agent', { nullable: true, description: 'The agent it speaks for: always set for AGENT tokens.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was last used; recorded in batches, so up to a minute late. Null if never used.',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked; null while it works.' }),
  }),
});

const AgentConnection = builder.connectionObject(
  { type: Agent, name: 'AgentConnection', ...connectionTypeOptions('A page of agents.') },
  { name: 'AgentEdge', description: 'An agent in a list.' },
);

const ApiTokenConnection = builder.connectionObject(
  { type: ApiToken, name: 'ApiTokenConnection', ...connectionTypeOptions('A page of API tokens.') },
  { name: 'ApiTokenEdge', description: 'An API token in a list.' },
);

type StaffOrVisitor = Exclude<Principal, { kind: 'anonymous' }>;

const ViewerType = builder.objectRef<StaffOrVisitor>('Viewer').implement({
  description: 'The caller, as its token identifies it.',
  fields: (t) => ({
    kind: t.field({ type: PrincipalKind, description: 'What kind of caller this is.', resolve: (p) => p.kind.toUpperCase() as 'ADMIN' | 'AGENT' | 'VISITOR' }),
    name: t.string({
      nullable: true,
      description: "The agent's name for an agent token, else the token's name; null for a chat visitor.",
      resolve: (p) => (p.kind === 'visitor' ? null : p.name),
    }),
    role: t.field({
      type: Role,
      nullable: true,
      description: 'What the token may do; null for a chat visitor.',
      resolve: (p) => (p.kind === 'admin' ? 'ADMIN' : p.kind === 'agent' ? 'AGENT' : null),
    }),
    agent: t.field({
      type: Agent,
      nullable: true,
      description: 'The agent the token speaks for, if any.',
      resolve: async (p, _args, ctx) => (p.kind === 'visitor' || p.agentId === null ? null : ((await findAgent(ctx.db, p.agentId)) ?? null)),
    }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerType,
    nullable: true,
    skipTypeScopes: true,
    description: 'Who is calling: null without a valid token. Public, so clients can check a token.',
    resolve: (_root, _args, ctx) => (ctx.principal.kind === 'anonymous' ? null : ctx.principal),
  }),
  agents: t.drizzleConnection(
    {
      type: 'agents',
      authScopes: { admin: true },
      description: 'All agents, oldest first. ADMIN only.',
      totalCount: (_root, _args, ctx) => ctx.db.$count(agents),
      resolve: (query, _root, _args, ctx) => ctx.db.query.agents.findMany(query({ orderBy: { id: 'asc' } })),
    },
    AgentConnection,
  ),
  apiTokens: t.drizzleConnection(
    {
      type: 'apiTokens',
      authScopes: { admin: true },
      description: 'API tokens, oldest first. ADMIN only.',
      args: { includeRevoked: t.arg.boolean({ defaultValue: false, description: 'Also list revoked tokens.' }) },
      totalCount: (_root, args, ctx) => ctx.db.$count(apiTokens, args.includeRevoked ? undefined : isNull(apiTokens.revokedAt)),
      resolve: (query, _root, args, ctx) =>
        ctx.db.query.apiTokens.findMany(query({ where: args.includeRevoked ? {} : { revokedAt: { isNull: true } }, orderBy: { id: 'asc' } })),
    },
    ApiTokenConnection,
  ),
}));

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  description: 'A new bearer token.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'What the token is for, at most 120 characters.' }),
    role: t.field({ type: Role, required: true, description: 'What it may do.' }),
    agentId: t.id({ description: 'The agent it speaks for: required for AGENT, optional for ADMIN.' }),
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

const RevokeApiTokenInput = builder.inputType('RevokeApiTokenInput', {
  description: 'A token to revoke.',
  fields: (t) => ({ tokenId: t.id({ required: true, description: 'Global ID of the ApiToken.' }) }),
});

const RevokeApiTokenPayload = payloadType<ApiTokenRow, 'apiToken'>(
  'RevokeApiTokenPayload',
  'Result of revokeApiToken.',
  'apiToken',
  ApiToken,
  'The revoked token.',
);

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
    description: 'Creates a bearer token and returns its secret once. An AGENT token is bound to an agent. ADMIN only.',
    args: { input: t.arg({ type: CreateApiTokenInput, required: true, description: 'Name, role and agent.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const agentId = input.agentId == null ? null : requireIdOf(String(input.agentId), 'Agent', 'agentId');
        const { token, row } = await createApiToken(ctx.db, { name: input.name, role: input.role, agentId });
        return { token, apiToken: row };
      }),
  }),
  revokeApiToken: t.field({
    authScopes: { admin: true },
    type: RevokeApiTokenPayload,
    description:
      'Revokes a token: refused at once on this server instance, and on the others once their token cache expires (TOKEN_CACHE_MS, at most 30 s). ADMIN only.',
    args: { input: t.arg({ type: RevokeApiTokenInput, required: true, description: 'The token.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const row = await revokeApiToken(ctx.db, requireIdOf(String(input.tokenId), 'ApiToken', 'tokenId'));
        if (!row) fail('tokenId', 'NOT_FOUND', 'No API token has this id.');
        ctx.auth.evict(row.id);
        return { apiToken: row };
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

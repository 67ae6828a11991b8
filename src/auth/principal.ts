/**
 * Who is calling. Every request has exactly one principal; resolvers and scopes switch on `kind`
 * instead of asking whether "some token" was sent.
 * - `admin`: configures everything; the bootstrap token (INTAKE_ADMIN_TOKEN) has no tokenId, and an
 *   admin token may speak for an agent (then notes carry that agent).
 * - `agent`: a token bound to an agent, who authors the notes written with it.
 * - `visitor`: a chat visitor's token, good for its own session only.
 * - `anonymous`: no valid token; public fields only.
 */
export type Principal =
  | { kind: 'admin'; tokenId: number | null; name: string; agentId: number | null }
  | { kind: 'agent'; tokenId: number; name: string; agentId: number }
  | { kind: 'visitor'; tokenId: number; sessionId: number }
  | { kind: 'anonymous' };

export type PrincipalKind = Principal['kind'];

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' });

/**
 * The stored token behind a principal, as "staff:<id>" or "visitor:<id>": what open streams are
 * watched and counted by. Null without one (anonymous, the configured bootstrap admin token).
 */
export function tokenKeyOf(principal: Principal): string | null {
  if (principal.kind === 'visitor') return `visitor:${principal.tokenId}`;
  if ((principal.kind === 'admin' || principal.kind === 'agent') && principal.tokenId !== null) return `staff:${principal.tokenId}`;
  return null;
}

/** Staff work tickets: admins and agents. */
export function isStaff(principal: Principal): principal is Extract<Principal, { kind: 'admin' | 'agent' }> {
  return principal.kind === 'admin' || principal.kind === 'agent';
}

/**
 * Per-object rights that another capability knows about. Live chat provides `isOperator` from its
 * channel operators table; until it is composed in, no agent operates any channel.
 */
export interface ScopeLookups {
  isOperator(agentId: number, channelId: number): Promise<boolean>;
}

export const NO_SCOPE_LOOKUPS: ScopeLookups = { isOperator: async () => false };

/** The scopes of scope-auth, with parameters where a right is per object. */
export interface AuthScopes {
  /** Admins and agents: ticket work. */
  agent: boolean;
  /** Configuration. */
  admin: boolean;
  /** An admin, or an agent who operates this chat channel. */
  operatorOf: number;
  /** The visitor holding this chat session's token. */
  visitorOf: number;
}

export function authScopesOf(principal: Principal, lookups: ScopeLookups) {
  return {
    agent: isStaff(principal),
    admin: principal.kind === 'admin',
    operatorOf: (channelId: number) =>
      principal.kind === 'admin' ? true : principal.kind === 'agent' ? lookups.isOperator(principal.agentId, channelId) : false,
    visitorOf: (sessionId: number) => principal.kind === 'visitor' && principal.sessionId === sessionId,
  };
}

/** Who signs what staff write: the token's agent (an unbound admin token signs with its own name). */
export function staffAuthor(principal: Principal): { name: string; agentId: number | null } {
  if (!isStaff(principal)) throw new Error(`a ${principal.kind} caller cannot author staff messages`);
  return { name: principal.name, agentId: principal.agentId };
}

import { GraphQLError } from 'graphql';
import { idArgument } from '../graphql/global-id.js';
import { findAgent, type AgentRow } from '../auth/service.js';
import { UserInputError } from '../errors.js';
import type { Context } from '../graphql/context.js';
import { idOf, requireIdOf } from '../graphql/user-errors.js';
import type { LiveChatSessionRow } from './assignment.js';
import type { ChatActor, ChatSender } from './messages.js';
import { findSession } from './sessions.js';

/**
 * Every question "may this caller touch this channel or session?" of live chat is answered
 * here, from ctx.principal; the Authenticator's operatorOf scope asks channels' isOperatorOf.
 */

/** The agent behind the caller's token, or null (unbound admin token, visitor, anonymous). */
export function callerAgentId(ctx: Context): number | null {
  const { principal } = ctx;
  return principal.kind === 'agent' || principal.kind === 'admin' ? principal.agentId : null;
}

export function isAdmin(ctx: Context): boolean {
  return ctx.principal.kind === 'admin';
}

/** The session a visitor token opens, or null for any other caller. */
export function visitorSessionId(ctx: Context): number | null {
  return ctx.principal.kind === 'visitor' ? ctx.principal.sessionId : null;
}

export function isVisitorOf(ctx: Context, sessionId: number): boolean {
  return visitorSessionId(ctx) === sessionId;
}

/** Admins, and agents who are operators of the channel: the operatorOf scope. */
export async function canOperate(ctx: Context, channelId: number): Promise<boolean> {
  const { principal } = ctx;
  if (principal.kind === 'admin') return true;
  return principal.kind === 'agent' && (await ctx.auth.scopeLookups.isOperator(principal.agentId, channelId));
}

export function forbidden(what: string): GraphQLError {
  return new GraphQLError(`Forbidden: ${what}.`, { extensions: { code: 'FORBIDDEN' } });
}

/** Fails unless the caller operates the channel (its operators and admins). */
export async function requireOperator(ctx: Context, channelId: number, what: string): Promise<void> {
  if (!(await canOperate(ctx, channelId))) throw forbidden(`${what} is for the channel's operators and admins`);
}

/** Who the caller is on a session: its visitor, an operator of its channel, or nobody (null). */
export async function actorOn(ctx: Context, session: LiveChatSessionRow): Promise<ChatActor | null> {
  if (isVisitorOf(ctx, session.id)) return { kind: 'VISITOR', sessionId: session.id };
  if (!(await canOperate(ctx, session.channelId))) return null;
  const agentId = callerAgentId(ctx);
  const agent = agentId === null ? undefined : await findAgent(ctx.db, agentId);
  return { kind: 'OPERATOR', agentId, name: agent?.name ?? (ctx.principal.kind === 'admin' ? ctx.principal.name : 'Operator') };
}

/**
 * Field scopes of what a session's visitor may call: staff (the resolver then asks for an
 * operator of the session's channel), or the visitor token of that very session.
 */
export function staffOrVisitorOf(globalId: unknown) {
  return { agent: true, visitorOf: idOf(String(globalId), 'LiveChatSession') ?? 0 };
}

export const NO_SESSION = () => new UserInputError([{ field: ['sessionId'], code: 'NOT_FOUND', message: 'No live chat session has this id.' }]);

/** The session named by an input, with the caller's part in it; NOT_FOUND also when the caller has none. */
export async function sessionForActor(ctx: Context, globalId: string | number) {
  const id = requireIdOf(String(globalId), 'LiveChatSession', 'sessionId');
  const session = await findSession(ctx.db, id);
  const actor = session ? await actorOn(ctx, session) : null;
  if (!session || !actor) throw NO_SESSION();
  return { session, actor };
}

/**
 * The sender of a message as the caller's token tells it, with no read: the visitor of this very
 * session, or staff; NOT_FOUND for anyone else. The send checks an agent's right on the channel.
 */
export function senderOn(ctx: Context, sessionId: number): ChatSender {
  const { principal } = ctx;
  if (principal.kind === 'visitor' && principal.sessionId === sessionId) return { kind: 'VISITOR', sessionId };
  if (principal.kind === 'agent') return { kind: 'OPERATOR', agentId: principal.agentId, name: principal.name, admin: false };
  if (principal.kind === 'admin') return { kind: 'OPERATOR', agentId: principal.agentId, name: principal.name, admin: true };
  throw NO_SESSION();
}

/** Visitors see an operator's name only. */
export function agentFor(ctx: Context, agent: AgentRow | undefined): AgentRow | null {
  if (!agent) return null;
  return ctx.principal.kind === 'visitor' ? { ...agent, email: null } : agent;
}

export function requireCallerAgent(ctx: Context): number {
  const agentId = callerAgentId(ctx);
  if (agentId === null) throw new UserInputError([{ field: null, code: 'NOT_AN_AGENT', message: 'Only a token bound to an agent can do this.' }]);
  return agentId;
}

/** The session a subscription names, if the caller is its visitor or operates its channel. */
export async function subscribableSession(ctx: Context, globalId: string | number): Promise<{ session: LiveChatSessionRow; visitor: boolean }> {
  const session = await findSession(ctx.db, idArgument(globalId, 'LiveChatSession', ['sessionId']));
  const actor = session ? await actorOn(ctx, session) : null;
  if (!session || !actor) throw forbidden('subscribe to a session that is yours (visitor token) or of your channel');
  return { session, visitor: actor.kind === 'VISITOR' };
}

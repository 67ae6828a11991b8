import { GraphQLError } from 'graphql';
import type { Context } from '../graphql/context.js';

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

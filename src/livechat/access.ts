import { and, eq } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import type { DbOrTx } from '../db/client.js';
import type { Context } from '../graphql/context.js';
import { findSessionByVisitorToken } from './sessions.js';
import { liveChatOperators } from './tables.js';

/**
 * Every question "may this caller touch this channel or session?" of live chat is answered
 * here, so the move to typed principals changes one file.
 */

/** The agent behind the caller's token, or null (admin bootstrap token, visitor, anonymous). */
export function callerAgentId(ctx: Context): number | null {
  return ctx.viewer?.agentId ?? null;
}

export function isAdmin(ctx: Context): boolean {
  return ctx.viewer?.role === 'ADMIN';
}

/** The session a visitor token opens, or null for any other caller. */
export function visitorSessionId(ctx: Context): number | null {
  return ctx.viewer ? null : (ctx.visitor?.sessionId ?? null);
}

export function isVisitorOf(ctx: Context, sessionId: number): boolean {
  return visitorSessionId(ctx) === sessionId;
}

export async function isOperatorOf(db: DbOrTx, channelId: number, agentId: number): Promise<boolean> {
  const [row] = await db
    .select({ agentId: liveChatOperators.agentId })
    .from(liveChatOperators)
    .where(and(eq(liveChatOperators.channelId, channelId), eq(liveChatOperators.agentId, agentId)));
  return row !== undefined;
}

/** Admins, and agents who are operators of the channel. */
export async function canOperate(db: DbOrTx, ctx: Context, channelId: number): Promise<boolean> {
  if (isAdmin(ctx)) return true;
  const agentId = callerAgentId(ctx);
  return agentId !== null && (await isOperatorOf(db, channelId, agentId));
}

export function forbidden(what: string): GraphQLError {
  return new GraphQLError(`Forbidden: ${what}.`, { extensions: { code: 'FORBIDDEN' } });
}

/** A bearer token that is not an API token may be a visitor's: the session it opens, or null. */
export async function visitorOfAuthorization(db: DbOrTx, header: string | null | undefined): Promise<{ sessionId: number } | null> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const session = await findSessionByVisitorToken(db, match[1]!);
  return session ? { sessionId: session.id } : null;
}

import { decodeGlobalID } from '@pothos/plugin-relay';
import { eq } from 'drizzle-orm';
import { Kind, parse, valueFromASTUntyped, type DocumentNode, type FieldNode } from 'graphql';
import type { Principal } from '../auth/principal.js';
import type { DbOrTx } from '../db/client.js';
import { findChannel, findChannelByKey, type LiveChatChannelRow } from './channels.js';
import { liveChatChannels, liveChatSessions } from './tables.js';
import { directLinkFrameAncestors } from './widget.js';
import { originAllowed } from './widget-rules.js';

/**
 * Which browser origins may read the answer of a chat operation: a channel's allowedOrigins
 * (empty: any) govern the operations a visitor's widget makes on another site's pages. The
 * channel comes from the operation itself (a channel key or id in its arguments) or from the
 * visitor token's session. Every other operation keeps the API's general CORS rule.
 */

/** Root fields a widget calls without a token, and where each names its channel. */
const CHAT_FIELDS: Record<string, { argument: string; inInput?: boolean; by: 'key' | 'id' }> = {
  liveChatWidget: { argument: 'channelKey', by: 'key' },
  liveChatAvailability: { argument: 'channelKey', by: 'key' },
  leaveLiveChatMessage: { argument: 'channelKey', inInput: true, by: 'key' },
  startLiveChat: { argument: 'channelId', inInput: true, by: 'id' },
};
const MENTIONS_CHAT_FIELD = new RegExp(Object.keys(CHAT_FIELDS).join('|'));

export interface OperationRequest {
  /** The GraphQL document's text, or a parsed one. */
  query?: string | DocumentNode | null;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
  principal: Principal;
}

type ChannelOrigins = Pick<LiveChatChannelRow, 'allowedOrigins'>;

const SESSION_ORIGINS_TTL_MS = 5000;
const sessionOrigins = new Map<number, { origins: ChannelOrigins | null; until: number }>();

/**
 * The allowed origins of a visitor session's channel, in one query, kept a few seconds: a
 * visitor's every message from a browser asks, and the message path itself is one statement.
 */
async function originsOfSession(db: DbOrTx, sessionId: number): Promise<ChannelOrigins | null> {
  const cached = sessionOrigins.get(sessionId);
  if (cached && cached.until > Date.now()) return cached.origins;
  const [row] = await db
    .select({ allowedOrigins: liveChatChannels.allowedOrigins })
    .from(liveChatSessions)
    .innerJoin(liveChatChannels, eq(liveChatChannels.id, liveChatSessions.channelId))
    .where(eq(liveChatSessions.id, sessionId));
  if (sessionOrigins.size >= 10_000) sessionOrigins.clear();
  sessionOrigins.set(sessionId, { origins: row ?? null, until: Date.now() + SESSION_ORIGINS_TTL_MS });
  return row ?? null;
}

/** The channels a request's chat operation names, or null when it is not a chat operation. */
export async function chatChannelsOf(db: DbOrTx, request: OperationRequest): Promise<ChannelOrigins[] | null> {
  const channels: ChannelOrigins[] = [];
  let chat = false;
  if (request.principal.kind === 'visitor') {
    chat = true;
    const channel = await originsOfSession(db, request.principal.sessionId);
    if (channel) channels.push(channel);
  }
  const { query } = request;
  if (typeof query === 'string' && !MENTIONS_CHAT_FIELD.test(query)) return chat ? channels : null;
  let document: DocumentNode;
  try {
    document = typeof query === 'string' ? parse(query, { noLocation: true }) : (query ?? { kind: Kind.DOCUMENT, definitions: [] });
  } catch {
    return chat ? channels : null; // Yoga answers the syntax error; nothing of a channel to read.
  }
  for (const field of rootFieldsOf(document, request.operationName)) {
    const rule = CHAT_FIELDS[field.name.value];
    if (!rule) continue;
    chat = true;
    const named = namedValue(field, rule.argument, rule.inInput ?? false, request.variables ?? {});
    if (typeof named !== 'string') continue;
    const channel = rule.by === 'key' ? await findChannelByKey(db, named) : await channelOfGlobalId(db, named);
    if (channel) channels.push(channel);
  }
  return chat ? channels : null;
}

/** Whether a page of this origin may read the answer: every channel the operation names allows it. */
export function originAllowedFor(channels: readonly ChannelOrigins[], origin: string): boolean {
  return channels.every((channel) => originAllowed(channel.allowedOrigins, origin));
}

function rootFieldsOf(document: DocumentNode, operationName: string | null | undefined): FieldNode[] {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const chosen = operationName ? operations.filter((o) => o.name?.value === operationName) : operations;
  return chosen.flatMap((operation) => operation.selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD));
}

function namedValue(field: FieldNode, argument: string, inInput: boolean, variables: Record<string, unknown>): unknown {
  const node = field.arguments?.find((a) => a.name.value === (inInput ? 'input' : argument));
  if (!node) return undefined;
  let value: unknown;
  try {
    value = valueFromASTUntyped(node.value, variables);
  } catch {
    return undefined;
  }
  return inInput ? (value as Record<string, unknown> | null)?.[argument] : value;
}

async function channelOfGlobalId(db: DbOrTx, globalId: string): Promise<LiveChatChannelRow | undefined> {
  try {
    const { typename, id } = decodeGlobalID(globalId);
    return typename === 'LiveChatChannel' && /^\d{1,10}$/.test(id) ? await findChannel(db, Number(id)) : undefined;
  } catch {
    return undefined;
  }
}

/** Headers of the direct-link page of a channel: framed only by its allowed origins. */
export function directLinkHeaders(channel: Pick<LiveChatChannelRow, 'allowedOrigins'>): Record<string, string> {
  return { 'content-security-policy': directLinkFrameAncestors(channel) };
}

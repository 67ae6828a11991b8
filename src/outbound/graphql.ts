import { inArray } from 'drizzle-orm';
import { builder } from '../graphql/builder.js';
import { loadInBatch } from '../graphql/batch.js';
import { connectionTypeOptions, payloadType, requireIdOf, withUserErrors } from '../graphql/user-errors.js';
import { TicketMessage } from '../tickets/message-graphql.js';
import type { TicketMessageRow } from '../tickets/service.js';
import { deliveriesOfMessages, retryOutboundMail, visibleStatus, type OutboundMailRow } from './service.js';
import { outboundMails } from './tables.js';

const OutboundMailStatus = builder.enumType('OutboundMailStatus', {
  description: 'Where a mail Intake sends stands.',
  values: {
    HELD: { description: 'No relay is configured (SMTP_RELAY_URL): kept, and sent once one is.' },
    PENDING: { description: 'Due, or being handed to the relay now.' },
    SENT: { description: 'The relay accepted it (250); final.' },
    DEFERRED: { description: 'A temporary failure (4xx, a timeout, a dropped connection): tried again at nextAttemptAt.' },
    FAILED: { description: 'Refused (5xx), bounced, or out of retries; a system note on the ticket says why.' },
  } as const,
});

const OutboundMailKind = builder.enumType('OutboundMailKind', {
  description: 'Why Intake sends a mail.',
  values: {
    REPLY: { description: "An agent's reply to the customer." },
    ACKNOWLEDGEMENT: { description: 'The receipt of a new ticket, sent to its customer.' },
  } as const,
});

/** Statuses as the API names them → the stored ones (PENDING covers a mail being sent). */
const STORED_STATUSES: Record<string, Array<OutboundMailRow['status']>> = {
  HELD: ['HELD'],
  PENDING: ['PENDING', 'SENDING'],
  SENT: ['SENT'],
  DEFERRED: ['DEFERRED'],
  FAILED: ['FAILED'],
};

export const OutboundMail = builder.drizzleNode('outboundMails', {
  name: 'OutboundMail',
  description: 'A mail Intake sends (a reply, an acknowledgement) and its delivery. Staff only: agents see whether their reply went out.',
  authScopes: { agent: true },
  id: { column: (m) => m.id },
  fields: (t) => ({
    kind: t.field({ type: OutboundMailKind, description: 'Reply or acknowledgement.', resolve: (m) => m.kind }),
    to: t.stringList({ description: 'Recipients (To).', resolve: (m) => m.to }),
    cc: t.stringList({ description: 'Recipients (Cc).', resolve: (m) => m.cc }),
    subject: t.exposeString('subject', { description: 'Subject header.' }),
    messageId: t.exposeString('messageId', { description: 'Message-ID header, without <>: fixed when queued, the same on every attempt.' }),
    status: t.field({ type: OutboundMailStatus, description: 'Where its delivery stands.', resolve: (m) => visibleStatus(m) }),
    attempts: t.exposeInt('attempts', { description: 'SMTP transactions begun for it so far.' }),
    lastResponse: t.exposeString('lastResponse', { nullable: true, description: "The relay's last reply, or why the last attempt failed (a bounce's diagnostic)." }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, description: 'When it is tried next (PENDING, DEFERRED).', resolve: (m) => (m.status === 'PENDING' || m.status === 'DEFERRED' ? m.nextAttemptAt : null) }),
    sentAt: t.expose('sentAt', { type: 'DateTime', nullable: true, description: 'When the relay accepted it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was queued.' }),
    ticket: t.relation('ticket', { nullable: true, description: 'The ticket it is about.' }),
  }),
});

builder.objectField(TicketMessage, 'delivery', (t) =>
  t.field({
    type: OutboundMail,
    nullable: true,
    description: 'The mail that carries this message to the customer (a reply), with its delivery; null for messages not sent by mail.',
    resolve: (message: TicketMessageRow, _args, ctx) =>
      message.authorKind !== 'AGENT' || message.kind !== 'MESSAGE'
        ? null
        : loadInBatch(ctx, 'TicketMessage.delivery', message.id, async (ids: number[]) => {
            const rows = await deliveriesOfMessages(ctx.db, ids);
            return ids.map((id) => rows.get(id) ?? null);
          }),
  }),
);

const OutboundMailConnection = builder.connectionObject(
  { type: OutboundMail, name: 'OutboundMailConnection', ...connectionTypeOptions('A page of outbound mail.') },
  { name: 'OutboundMailEdge', description: 'An outbound mail in a list.' },
);

builder.queryField('outboundMails', (t) =>
  t.drizzleConnection(
    {
      type: 'outboundMails',
      authScopes: { admin: true },
      description: 'Mail Intake sends, newest first. ADMIN only.',
      args: { status: t.arg({ type: OutboundMailStatus, description: 'Only mail in this state.' }) },
      totalCount: (_root, args, ctx) => ctx.db.$count(outboundMails, args.status ? inArray(outboundMails.status, STORED_STATUSES[args.status]!) : undefined),
      resolve: (query, _root, args, ctx) =>
        ctx.db.query.outboundMails.findMany(query({ where: args.status ? { status: { in: STORED_STATUSES[args.status]! } } : {}, orderBy: { id: 'desc' } })),
    },
    OutboundMailConnection,
  ),
);

const RetryOutboundMailInput = builder.inputType('RetryOutboundMailInput', {
  description: 'A FAILED mail to send again.',
  fields: (t) => ({ outboundMailId: t.id({ required: true, description: 'Global ID of a FAILED outbound mail.' }) }),
});

const RetryOutboundMailPayload = payloadType<OutboundMailRow, 'outboundMail'>(
  'RetryOutboundMailPayload',
  'Result of retryOutboundMail.',
  'outboundMail',
  OutboundMail,
  'The mail, due again with the same Message-ID.',
);

builder.mutationField('retryOutboundMail', (t) =>
  t.field({
    authScopes: { admin: true },
    type: RetryOutboundMailPayload,
    description: 'Sends a FAILED mail again: the same mail and Message-ID, its retries starting over. ADMIN only.',
    args: { input: t.arg({ type: RetryOutboundMailInput, required: true, description: 'The mail.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        outboundMail: await retryOutboundMail(ctx.db, ctx.config, { outboundMailId: requireIdOf(String(input.outboundMailId), 'OutboundMail', 'outboundMailId') }),
      })),
  }),
);


import { eq } from 'drizzle-orm';
import { builder } from '../graphql/builder.js';
import { connectionTypeOptions, payloadType, requireIdOf, withUserErrors } from '../graphql/user-errors.js';
import { reprocessInboundMail, type InboundMailRow } from './service.js';
import { inboundMails } from './tables.js';

const InboundMailStatus = builder.enumType('InboundMailStatus', {
  description: 'What became of an accepted mail.',
  values: {
    PROCESSED: { description: 'Became a ticket, or a reply on one.' },
    DUPLICATE: { description: 'A copy of a mail already stored (the sender retried); stored once.' },
    IGNORED: { description: 'Automated (bounce, auto-reply, list or own alias): no ticket; added as a system note when it named a ticket.' },
    QUARANTINED: { description: 'Kept for a person to look at: unparseable, or a possible mail loop.' },
  } as const,
});

const MailEnvelope = builder.objectRef<InboundMailRow['envelope']>('MailEnvelope').implement({
  description: 'The SMTP envelope a mail arrived with. ADMIN only.',
  authScopes: { admin: true },
  fields: (t) => ({
    mailFrom: t.string({ nullable: true, description: 'MAIL FROM address; null for bounces (<>).', resolve: (e) => e.mailFrom }),
    rcptTo: t.stringList({ description: 'RCPT TO addresses accepted for this mail.', resolve: (e) => e.rcptTo }),
    remoteAddress: t.string({ nullable: true, description: 'IP address of the sending server.', resolve: (e) => e.remoteAddress ?? null }),
  }),
});

export const InboundMail = builder.drizzleNode('inboundMails', {
  name: 'InboundMail',
  description: 'A mail received over SMTP for one team, with what became of it. The raw message is kept. ADMIN only.',
  // On the type, not only on inboundMails: node, nodes and every parent field reach it too.
  authScopes: { admin: true },
  id: { column: (m) => m.id },
  // The raw bytes stay in the database; the API shows what a person needs to decide.
  select: { columns: { id: true, teamId: true, status: true, messageId: true, envelope: true, fromAddress: true, subject: true, reason: true, ticketId: true, size: true, requestId: true, receivedAt: true } },
  fields: (t) => ({
    status: t.field({ type: InboundMailStatus, description: 'What became of it.', resolve: (m) => m.status }),
    messageId: t.exposeString('messageId', { nullable: true, description: 'Message-ID header, without <>.' }),
    envelope: t.field({ type: MailEnvelope, description: 'SMTP envelope.', resolve: (m) => m.envelope }),
    from: t.exposeString('fromAddress', { nullable: true, description: 'Address of the From header (or the envelope sender).' }),
    subject: t.exposeString('subject', { nullable: true, description: 'Subject header.' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it was ignored, quarantined or a duplicate.' }),
    size: t.exposeInt('size', { description: 'Size of the raw message in bytes.' }),
    requestId: t.exposeString('requestId', {
      nullable: true,
      description: "Id of the SMTP transaction that brought it, as the server's log lines and traces name it (requestId); null for mail received before ids were kept.",
    }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime', description: 'When it was accepted.' }),
    team: t.relation('team', { nullable: true, description: 'The team whose alias received it.' }),
    ticket: t.relation('ticket', { nullable: true, description: 'The ticket it created or was added to.' }),
  }),
});

const InboundMailConnection = builder.connectionObject(
  { type: InboundMail, name: 'InboundMailConnection', ...connectionTypeOptions('A page of inbound mail.') },
  { name: 'InboundMailEdge', description: 'An inbound mail in a list.' },
);

builder.queryField('inboundMails', (t) =>
  t.drizzleConnection(
    {
      type: 'inboundMails',
      authScopes: { admin: true },
      description: 'Mail received over SMTP, newest first. ADMIN only.',
      args: { status: t.arg({ type: InboundMailStatus, description: 'Only mail with this outcome.' }) },
      totalCount: (_root, args, ctx) => ctx.db.$count(inboundMails, args.status ? eq(inboundMails.status, args.status) : undefined),
      resolve: (query, _root, args, ctx) =>
        ctx.db.query.inboundMails.findMany(query({ where: args.status ? { status: args.status } : {}, orderBy: { id: 'desc' } })),
    },
    InboundMailConnection,
  ),
);

const ReprocessInboundMailInput = builder.inputType('ReprocessInboundMailInput', {
  description: 'A kept mail to route again.',
  fields: (t) => ({ id: t.id({ required: true, description: 'Global ID of a QUARANTINED or IGNORED inbound mail.' }) }),
});

const ReprocessInboundMailPayload = payloadType<InboundMailRow, 'inboundMail'>(
  'ReprocessInboundMailPayload',
  'Result of reprocessInboundMail.',
  'inboundMail',
  InboundMail,
  'The mail with its new outcome.',
);

builder.mutationField('reprocessInboundMail', (t) =>
  t.field({
    authScopes: { admin: true },
    type: ReprocessInboundMailPayload,
    description: 'Routes a quarantined or ignored mail again (the loop guard does not apply). ADMIN only.',
    args: { input: t.arg({ type: ReprocessInboundMailInput, required: true, description: 'The mail.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({ inboundMail: await reprocessInboundMail(ctx.db, ctx.config, { id: requireIdOf(String(input.id), 'InboundMail', 'id') }) })),
  }),
);

import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { countRecentMailsTo } from '../outbound/history.js';
import { newMessageId, queueOutboundMail } from '../outbound/service.js';
import { mailSigner } from '../outbound/signing.js';
import { findTeams, type TeamRow } from '../teams/service.js';
import { escapeHtml } from '../text/html.js';
import type { TicketRow } from '../tickets/service.js';
import { formatAddress, htmlDocument, replySubject, threadHeaders, ticketReplyAddress } from './compose.js';
import { senderOf, type OutgoingMailSettings } from './reply.js';

export interface AcknowledgementSettings extends OutgoingMailSettings {
  ackMaxPerSenderPerHour: number;
}

/** A ticket just created from mail or the website form, and what is known of who asked. */
export interface NewTicketToAcknowledge {
  ticket: TicketRow;
  customer: { email: string; name: string | null } | null;
  /** A language tag or Accept-/Content-Language value, when known. */
  language: string | null;
  /** Why the mail that opened it is machine-made (classify.ts), or null. */
  automated: string | null;
  /** The Message-ID of the mail that opened it: the acknowledgement answers it. */
  messageId: string | null;
}

export const ACK_LANGUAGES = ['en', 'fr', 'nl', 'es'] as const;
export type AckLanguage = (typeof ACK_LANGUAGES)[number];

/** The first of our languages a Content-Language or Accept-Language value names (by preference), or null. */
export function acknowledgementLanguage(value: string | null | undefined): AckLanguage | null {
  const ranked = (value ?? '')
    .split(',')
    .map((part) => {
      const [tag, q] = part.trim().split(/;\s*q=/);
      return { lang: (tag ?? '').toLowerCase().split('-')[0]!, q: q === undefined ? 1 : Number(q) };
    })
    .filter((l) => l.lang && !Number.isNaN(l.q) && l.q > 0)
    .sort((a, b) => b.q - a.q);
  return (ranked.find((l) => (ACK_LANGUAGES as readonly string[]).includes(l.lang))?.lang as AckLanguage | undefined) ?? null;
}

const NO_REPLY = /^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|mailer[-_.]?daemon|postmaster|bounces?)(?:[-+._].*)?$/i;

/** Addresses that must never be answered automatically: no-reply mailboxes, MAILER-DAEMON, bounce handlers. */
export function isNoReplyAddress(address: string): boolean {
  return NO_REPLY.test(address.slice(0, address.lastIndexOf('@')));
}

interface AckText {
  subjectPrefix: string;
  greeting: (name: string | null) => string;
  body: (number: number, title: string, team: string) => string;
  answer: string;
}

const TEXTS: Record<AckLanguage, AckText> = {
  en: {
    subjectPrefix: 'Received',
    greeting: (name) => (name ? `Hello ${name},` : 'Hello,'),
    body: (n, title, team) => `We have received your request "${title}". Its ticket number is #${n}; ${team} will answer you as soon as possible.`,
    answer: 'To add something, simply reply to this message.',
  },
  fr: {
    subjectPrefix: 'Reçu',
    greeting: (name) => (name ? `Bonjour ${name},` : 'Bonjour,'),
    body: (n, title, team) => `Nous avons bien reçu votre demande « ${title} ». Son numéro de ticket est le #${n} ; ${team} vous répondra dès que possible.`,
    answer: 'Pour ajouter quelque chose, répondez simplement à ce message.',
  },
  nl: {
    subjectPrefix: 'Ontvangen',
    greeting: (name) => (name ? `Hallo ${name},` : 'Hallo,'),
    body: (n, title, team) => `We hebben uw aanvraag "${title}" ontvangen. Het ticketnummer is #${n}; ${team} antwoordt u zo snel mogelijk.`,
    answer: 'Wilt u iets toevoegen? Beantwoord dan gewoon dit bericht.',
  },
  es: {
    subjectPrefix: 'Recibido',
    greeting: (name) => (name ? `Hola, ${name}:` : 'Hola:'),
    body: (n, title, team) => `Hemos recibido su solicitud «${title}». Su número de ticket es el #${n}; ${team} le responderá lo antes posible.`,
    answer: 'Para añadir algo, responda simplemente a este mensaje.',
  },
};

/** The acknowledgement's subject and text in a language: the ticket number, its title and the team name. */
export function acknowledgementText(language: AckLanguage, input: { number: number; title: string; team: string; name: string | null }) {
  const t = TEXTS[language];
  const paragraphs = [t.greeting(input.name), t.body(input.number, input.title, input.team), t.answer, input.team];
  return {
    subject: `${t.subjectPrefix}: ${replySubject(input.title, input.number).slice('Re: '.length)}`,
    text: paragraphs.join('\n\n'),
    html: paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n'),
  };
}

/**
 * Mails the customer of each new ticket whose team acknowledges new tickets, in the caller's
 * transaction: never to automated mail, no-reply or MAILER-DAEMON senders, nor to an address
 * already acknowledged ACK_MAX_PER_SENDER_PER_HOUR times within the hour (an auto-responder
 * answering us cannot start a loop). Marked auto-replied so that other systems do not answer it.
 */
export async function acknowledgeNewTickets(
  tx: DbOrTx,
  settings: AcknowledgementSettings,
  items: readonly NewTicketToAcknowledge[],
  /** The tickets' teams when the caller read them already (in a round trip it made anyway). */
  teamsRead?: Promise<TeamRow[]>,
): Promise<number> {
  const candidates = items.filter((item) => item.customer && !item.automated && !isNoReplyAddress(item.customer.email));
  if (candidates.length === 0) return 0;
  const teams = new Map((await (teamsRead ?? findTeams(tx, [...new Set(candidates.map((c) => c.ticket.teamId))]))).map((team) => [team.id, team]));
  const due = candidates.filter((c) => teams.get(c.ticket.teamId)?.acknowledgeNewTickets);
  if (due.length === 0) return 0;
  const signer = await mailSigner(tx, settings);
  let sent = 0;
  for (const item of due) {
    const customer = item.customer!;
    const address = customer.email.trim().toLowerCase();
    // Counted and queued under a lock per address: concurrent intakes cannot both pass the limit.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`intake-ack:${address}`}))`);
    if ((await countRecentMailsTo(tx, 'ACKNOWLEDGEMENT', address, 60)) >= settings.ackMaxPerSenderPerHour) continue;
    const team = teams.get(item.ticket.teamId)!;
    const sender = senderOf(team, settings);
    const language = acknowledgementLanguage(item.language) ?? 'en';
    const text = acknowledgementText(language, { number: item.ticket.number, title: item.ticket.title, team: team.name, name: customer.name });
    await queueOutboundMail(tx, settings, {
      kind: 'ACKNOWLEDGEMENT',
      ticketId: item.ticket.id,
      from: formatAddress(team.name, sender.address),
      replyTo: sender.alias ? ticketReplyAddress(signer, sender.alias, item.ticket.id) : null,
      to: [customer.email.trim()],
      subject: text.subject,
      text: text.text,
      html: htmlDocument(text.html, language),
      headers: {
        ...threadHeaders(item.messageId ? [item.messageId] : []),
        'Auto-Submitted': 'auto-replied',
        'X-Auto-Response-Suppress': 'All',
        'Content-Language': language,
      },
      messageId: newMessageId(sender.domain),
    });
    sent++;
  }
  return sent;
}

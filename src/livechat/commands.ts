import type { DbOrTx } from '../db/client.js';
import { cutByCodePoints } from '../text/clean.js';
import { searchTeamTickets } from '../tickets/list.js';
import { createTicket } from '../tickets/service.js';
import type { LiveChatSessionRow } from './tables.js';
import { publishSessionChanged } from './events.js';
import type { LiveChatChannelRow } from './channels.js';
import { appendMessage, transcriptMessages, type ChatMessageRow } from './message-store.js';
import { COMMAND_HELP, transcriptOf, type ChatCommand } from './rules.js';
import { liveChatSessionTickets } from './tables.js';

const MAX_TITLE = 300;
const MAX_TRANSCRIPT = 200_000;
/** As many chat messages as a ticket's transcript takes. */
const MAX_TRANSCRIPT_MESSAGES = 1000;
const SEARCH_RESULTS = 5;

/** A chat as a ticket's first messages, each with its author and time: the visitor as the customer, operators and the bot as agents. */
export function transcriptForTicket(lines: readonly ChatMessageRow[]) {
  return lines.slice(0, MAX_TRANSCRIPT_MESSAGES).flatMap((line) =>
    line.body.trim() === ''
      ? []
      : [{ authorKind: line.authorKind === 'VISITOR' ? ('CUSTOMER' as const) : ('AGENT' as const), authorName: line.authorName, body: line.body, writtenAt: line.createdAt }],
  );
}

/** Answers an operator's command with a SYSTEM message only operators see. */
export async function runChatCommand(
  tx: DbOrTx,
  channel: LiveChatChannelRow,
  session: LiveChatSessionRow,
  command: ChatCommand,
): Promise<void> {
  const reply = (body: string) => appendMessage(tx, session, { authorKind: 'SYSTEM', authorName: 'System', body, operatorOnly: true, inTranscript: false });
  switch (command.kind) {
    case 'CREATE_TICKET': {
      const title = cutByCodePoints(command.title || `${session.visitorName}'s chat`, MAX_TITLE);
      const lines = await transcriptMessages(tx, session.id);
      // The one creation path: the chat's own team, whichever team the operator works in. The
      // chat becomes the ticket's first messages, each with its author and time; the description
      // is the conversation in one text, as a list of tickets shows it.
      const ticket = await createTicket(tx, {
        teamId: channel.teamId,
        title,
        description: cutByCodePoints(transcriptOf(lines), MAX_TRANSCRIPT),
        channel: 'LIVE_CHAT',
        customer: { email: session.visitorEmail, name: session.visitorName },
        transcript: transcriptForTicket(lines),
        source: { kind: 'LIVE_CHAT_SESSION', id: session.id },
      });
      await tx.insert(liveChatSessionTickets).values({ sessionId: session.id, ticketId: ticket.id });
      await reply(`Ticket #${ticket.number} created: ${ticket.title}`);
      publishSessionChanged(tx, session);
      return;
    }
    case 'SEARCH_TICKETS': {
      if (command.words.length === 0) return void (await reply('Type the words to look for: /helpdesk_search <words>'));
      const found = await searchTeamTickets(tx, { teamId: channel.teamId, words: command.words.slice(0, 10), limit: SEARCH_RESULTS });
      await reply(found.length ? found.map((t) => `#${t.number} ${t.title}`).join('\n') : `No ticket of this team matches "${command.words.join(' ')}".`);
      return;
    }
    case 'UNKNOWN':
      await reply([`Unknown command /${command.name}. Commands:`, ...COMMAND_HELP].join('\n'));
      return;
  }
}

import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import { asksForOperator, chatbotTurn, type ChatbotAction, type ChatbotInput, type ChatbotScriptDef, type ChatbotStepDef } from '../chatbot/engine.js';
import { loadChatbotScript } from '../chatbot/service.js';
import { chatbotText, type ChatbotTextKey } from '../chatbot/texts.js';
import type { DbOrTx } from '../db/client.js';
import { fail } from '../errors.js';
import { cutByCodePoints } from '../text/clean.js';
import { createTicket } from '../tickets/service.js';
import { onlineOperators, assignSession } from './assignment.js';
import { lockChannel } from './channels.js';
import { transcriptForTicket } from './commands.js';
import { chatTransaction, publishSessionChanged } from './events.js';
import { appendMessage, lockSession, transcriptMessages } from './message-store.js';
import { hitRateLimit } from './ratelimit.js';
import { chooseOperator, hasRoom, transcriptOf } from './rules.js';
import { liveChatMessages, liveChatSessions, liveChatSessionTickets, type ChatbotSessionState, type LiveChatChannelRow, type LiveChatSessionRow } from './tables.js';
import { chatbotOfVisit } from './widget.js';
import { chatbotConditionHolds, type ChatbotCondition } from './widget-rules.js';

/*
 * The chatbot at run time: a session opened under a rule that attaches a script runs it. The
 * engine (chatbot/engine.ts, pure) decides each turn; this file carries its actions out inside
 * the chat's transaction: the bot's messages, hand-over through the core's assignment, tickets
 * through the one creation path.
 *
 * - A bot turn locks the channel, then the session (live chat's lock order), because a
 *   hand-over assigns under the channel lock like every assignment.
 * - Visitor messages are stored by the ordinary one-statement send; when the session's bot
 *   listens (chatbot_phase RUNNING or LEAVE_MESSAGE), the send then runs a turn that reads every
 *   visitor message after chatbot_read_seq. So the bot's replies follow the visitor's message in
 *   seq order and on chatMessageAdded, and a message whose turn never ran (the process stopped in
 *   between) is read by the next turn.
 * - FREE_INPUT_MULTI: each message pushes chatbot_due_at to now + LIVECHAT_CHATBOT_PAUSE_MS and
 *   sets a timer on the instance that took it, which finishes the input once the deadline passed
 *   (a later message moves the deadline, and the earlier timer finds nothing due). The deadline is
 *   a column: after a restart the live chat sweep (every instance, a row lock per session)
 *   finishes what a lost timer left, within LIVECHAT_SWEEP_INTERVAL_MS.
 * - After a hand-over (an operator, or the waiting line) the phase is HANDED_OVER and no turn
 *   runs again: the bot never speaks after a person took over.
 */

export interface ChatbotSettings {
  /** FREE_INPUT_MULTI: the visitor has finished after this long without a new message. */
  chatbotPauseMs?: number;
  messagesPerMinutePerSession: number;
}

const DEFAULT_PAUSE_MS = 5000;
const MAX_TICKET_TITLE = 100;
const MAX_DESCRIPTION = 200_000;

export const CHATBOT_START_STATE: ChatbotSessionState = Object.freeze({
  stepId: null,
  chosenAnswerIds: [],
  ticketCreated: false,
  ended: false,
  email: null,
  phone: null,
  freeInputs: [],
  pendingInput: [],
}) as ChatbotSessionState;

export interface VisitChatbot {
  script: ChatbotScriptDef;
  condition: ChatbotCondition;
}

/** The script the rule of a visit attaches (as liveChatWidget resolves it), with its condition; null when none. Needs no lock. */
export async function chatbotScriptOfVisit(db: DbOrTx, channelId: number, visit: { pageUrl: string | null; country: string | null }): Promise<VisitChatbot | null> {
  const attached = await chatbotOfVisit(db, channelId, visit);
  const script = attached ? await loadChatbotScript(db, attached.scriptId) : null;
  return script ? { script, condition: attached!.condition } : null;
}

/** Whether a session starting now runs the bot: its condition, "operator" meaning online with room. */
export function startsWithChatbot(bot: VisitChatbot | null, online: { openSessions: number }[], cap: number | null): bot is VisitChatbot {
  return bot !== null && chatbotConditionHolds(bot.condition, online.some((o) => hasRoom(o.openSessions, cap)));
}

/** The bot's first turn in a session just created with it (channel locked, in the start's transaction). */
export async function openChatbot(tx: DbOrTx, channel: LiveChatChannelRow, session: LiveChatSessionRow, script: ChatbotScriptDef): Promise<void> {
  await chatTransaction(tx, async (tx) => {
    const turn = new Turn(tx, channel, session, script, {}, 'RUNNING', { ...CHATBOT_START_STATE });
    await turn.feed({ kind: 'START' });
    await turn.save(session.chatbotReadSeq);
  });
}

/** Locks channel then session, as every live chat path does; the session row is read unlocked first to learn its channel. */
async function lockBotSession(tx: DbOrTx, sessionId: number) {
  const [found] = await tx.select({ channelId: liveChatSessions.channelId }).from(liveChatSessions).where(eq(liveChatSessions.id, sessionId));
  if (!found) fail('sessionId', 'NOT_FOUND', 'No live chat session has this id.');
  const channel = await lockChannel(tx, found.channelId, 'sessionId');
  const session = await lockSession(tx, sessionId);
  return { channel, session };
}

/**
 * After a visitor's message committed in a session whose bot listens: the bot reads every
 * visitor message it has not read yet, in order, and answers.
 */
export async function reactToVisitor(db: DbOrTx, settings: ChatbotSettings, sessionId: number): Promise<void> {
  await chatTransaction(db, async (tx) => {
    const { channel, session } = await lockBotSession(tx, sessionId);
    if (session.status === 'CLOSED' || (session.chatbotPhase !== 'RUNNING' && session.chatbotPhase !== 'LEAVE_MESSAGE')) return false;
    const unread = await tx
      .select({ seq: liveChatMessages.seq, body: liveChatMessages.body })
      .from(liveChatMessages)
      .where(and(eq(liveChatMessages.sessionId, session.id), gt(liveChatMessages.seq, session.chatbotReadSeq), eq(liveChatMessages.authorKind, 'VISITOR')))
      .orderBy(asc(liveChatMessages.seq));
    if (unread.length === 0) return false;
    const script = session.chatbotScriptId === null ? null : await loadChatbotScript(tx, session.chatbotScriptId);
    const turn = new Turn(tx, channel, session, script, settings, session.chatbotPhase, { ...CHATBOT_START_STATE, ...session.chatbotState });
    for (const message of unread) {
      if (!turn.listening) break;
      await turn.visitorWrote(message.body);
    }
    await turn.save(unread.at(-1)!.seq);
    return turn.waitsForPause;
  }).then((waits) => {
    if (waits) finishAfterPause(db, settings, sessionId);
  });
}

/** The visitor presses an answer button of the bot's current question. */
export async function chooseChatbotAnswer(db: DbOrTx, settings: ChatbotSettings, input: { sessionId: number; answerId: number }): Promise<LiveChatSessionRow> {
  // A choice is the visitor's message: it counts against the visitor's limit like a typed one.
  await hitRateLimit(db, { key: `chat-messages:${input.sessionId}`, limit: settings.messagesPerMinutePerSession, windowSeconds: 60 });
  return chatTransaction(db, async (tx) => {
    const { channel, session } = await lockBotSession(tx, input.sessionId);
    if (session.status === 'CLOSED') fail('sessionId', 'SESSION_CLOSED', 'This conversation is closed: start a new one.');
    const script = session.chatbotPhase === 'RUNNING' && session.chatbotScriptId !== null ? await loadChatbotScript(tx, session.chatbotScriptId) : null;
    const state = { ...CHATBOT_START_STATE, ...session.chatbotState };
    const step = script?.steps.find((s) => s.id === state.stepId && !state.ended);
    const answer = step?.type === 'QUESTION_SELECTION' ? step.answers.find((a) => a.id === input.answerId) : undefined;
    if (!script || !answer) fail('answerId', 'INVALID_VALUE', 'The bot does not offer this answer now: choose one of its current question, or type your message.');
    // The choice shows in the conversation as the visitor's message, read by the bot as it is chosen here.
    const chosen = await appendMessage(tx, session, { authorKind: 'VISITOR', authorName: session.visitorName, body: answer.label });
    const turn = new Turn(tx, channel, session, script, settings, 'RUNNING', state);
    const refused = await turn.feed({ kind: 'CHOICE', answerId: answer.id });
    if (refused) fail('answerId', 'INVALID_VALUE', 'The bot does not offer this answer now.');
    await turn.save(chosen.seq);
    const [updated] = await tx.select().from(liveChatSessions).where(eq(liveChatSessions.id, session.id));
    return updated!;
  });
}

/**
 * FREE_INPUT_MULTI answers whose pause passed are finished, each session in its own
 * transaction: those of this instance's timers at once, and all of them at each live chat sweep
 * (after a restart, or a timer of an instance that stopped).
 */
export async function finishPausedChatbotInputs(db: DbOrTx, settings: ChatbotSettings, onlySessionId?: number): Promise<number> {
  const due = await db
    .select({ id: liveChatSessions.id })
    .from(liveChatSessions)
    .where(and(lte(liveChatSessions.chatbotDueAt, sql`now()`), onlySessionId === undefined ? undefined : eq(liveChatSessions.id, onlySessionId)))
    .orderBy(asc(liveChatSessions.chatbotDueAt))
    .limit(100);
  let finished = 0;
  for (const { id } of due) {
    finished += await chatTransaction(db, async (tx) => {
      const { channel, session } = await lockBotSession(tx, id);
      // Another instance finished it, or the visitor wrote again meanwhile (a later deadline).
      if (session.chatbotDueAt === null || session.chatbotDueAt.getTime() > Date.now()) return 0;
      if (session.status === 'CLOSED' || session.chatbotPhase !== 'RUNNING' || session.chatbotScriptId === null) {
        await tx.update(liveChatSessions).set({ chatbotDueAt: null }).where(eq(liveChatSessions.id, session.id));
        return 0;
      }
      const script = await loadChatbotScript(tx, session.chatbotScriptId);
      const turn = new Turn(tx, channel, session, script, settings, 'RUNNING', { ...CHATBOT_START_STATE, ...session.chatbotState });
      await turn.finishInput();
      await turn.save(session.chatbotReadSeq);
      return 1;
    }).catch(() => 0);
  }
  return finished;
}

/** This instance's timer for a session's pause: it finishes the input as the deadline passes (the sweep is the fallback). */
function finishAfterPause(db: DbOrTx, settings: ChatbotSettings, sessionId: number): void {
  const timer = setTimeout(() => void finishPausedChatbotInputs(db, settings, sessionId).catch(() => {}), (settings.chatbotPauseMs ?? DEFAULT_PAUSE_MS) + 50);
  timer.unref();
}

type Phase = NonNullable<LiveChatSessionRow['chatbotPhase']>;

/** One turn of a session's bot under the session's lock: engine decisions carried out, state saved at the end. */
class Turn {
  private dueAt: 'keep' | 'clear' | 'push' = 'keep';

  constructor(
    private readonly tx: DbOrTx,
    private readonly channel: LiveChatChannelRow,
    private session: LiveChatSessionRow,
    private readonly script: ChatbotScriptDef | null,
    private readonly settings: Partial<ChatbotSettings>,
    private phase: Phase,
    private state: ChatbotSessionState,
  ) {}

  /** The turn set a FREE_INPUT_MULTI deadline. */
  get waitsForPause(): boolean {
    return this.dueAt === 'push' && this.listening;
  }

  get listening(): boolean {
    return this.phase === 'RUNNING' || this.phase === 'LEAVE_MESSAGE';
  }

  private get botName(): string {
    return this.script?.title ?? 'Bot';
  }

  /** A message of the visitor, read by the bot. */
  async visitorWrote(text: string): Promise<void> {
    if (this.phase === 'LEAVE_MESSAGE') {
      // The offer to leave a message was made: this message is it, unless the visitor asks for someone.
      if (asksForOperator(text)) return this.operatorRequested();
      this.state = { ...this.state, freeInputs: [...this.state.freeInputs, text.trim()] };
      this.phase = 'RUNNING';
      await this.fileTicket(this.channel.teamId);
      return;
    }
    if (!this.script) return;
    await this.feed({ kind: 'MESSAGE', text });
  }

  async finishInput(): Promise<void> {
    this.dueAt = 'clear';
    const pending = this.state.pendingInput.join('\n').trim();
    this.state = { ...this.state, pendingInput: [], freeInputs: pending ? [...this.state.freeInputs, pending] : this.state.freeInputs };
    await this.feed({ kind: 'INPUT_FINISHED' });
  }

  /** Runs the engine on an input and carries out its actions (going on after a forward to nobody, or a ticket). True when refused. */
  async feed(input: ChatbotInput): Promise<boolean> {
    if (!this.script) return true;
    const turn = chatbotTurn(this.script, this.state, input);
    if (turn.refused) return true;
    this.state = { ...this.state, stepId: turn.progress.stepId, chosenAnswerIds: [...turn.progress.chosenAnswerIds], ticketCreated: turn.progress.ticketCreated, ended: turn.progress.ended };
    for (const action of turn.actions) {
      if (!this.listening) break;
      await this.carryOut(action);
    }
    return false;
  }

  private async carryOut(action: ChatbotAction): Promise<void> {
    switch (action.kind) {
      case 'SAY':
        return void (await this.say(action.step.message, { step: action.step }));
      case 'RECORD':
        return this.record(action.step, action.value);
      case 'REASK':
        // Explained; a selection's explanation offers the answers again.
        return void (await this.say(this.text(action.problem), { step: action.problem === 'CHOOSE_ANSWER' ? action.step : null }));
      case 'REDIRECT':
        return void (await this.say(action.url, { redirectUrl: action.url }));
      case 'FORWARD_OPERATOR':
        if (await this.handOver()) return;
        await this.say(this.text('NO_OPERATOR_ONLINE'));
        await this.feed({ kind: 'CONTINUE' });
        return;
      case 'CREATE_TICKET':
        await this.fileTicket(action.step.ticketTeamId ?? this.channel.teamId);
        await this.feed({ kind: 'CONTINUE', ticketCreated: true });
        return;
      case 'OPERATOR_REQUESTED':
        return this.operatorRequested();
      case 'OFFER':
        return this.offer();
      case 'END':
        return;
    }
  }

  private record(step: ChatbotStepDef, value: string): void {
    switch (step.type) {
      case 'QUESTION_EMAIL':
        this.state = { ...this.state, email: value };
        return;
      case 'QUESTION_PHONE':
        this.state = { ...this.state, phone: value };
        return;
      case 'FREE_INPUT_SINGLE':
        this.state = { ...this.state, freeInputs: [...this.state.freeInputs, value] };
        return;
      case 'FREE_INPUT_MULTI':
        this.state = { ...this.state, pendingInput: [...this.state.pendingInput, value] };
        this.dueAt = 'push';
        return;
      default:
        return;
    }
  }

  private async operatorRequested(): Promise<void> {
    if (await this.handOver()) return;
    await this.say(this.text('NO_OPERATOR_ONLINE'));
    // Past the script's end with no ticket yet: leaving a message is the way forward.
    if (this.state.ended && !this.state.ticketCreated) await this.offer();
  }

  /** The end of the script without hand-over or ticket: an operator when one is online, else a message (a ticket). */
  private async offer(): Promise<void> {
    const online = await onlineOperators(this.tx, this.channel.id);
    if (online.length > 0) {
      await this.say(this.text('OFFER_OPERATOR'));
      return;
    }
    await this.say(this.text('OFFER_MESSAGE'));
    this.phase = 'LEAVE_MESSAGE';
  }

  /**
   * Hands the session to an operator through the core's assignment: the previous session's
   * operator, the visitor's language, fewest open, idle longest, among those online with room
   * (nobody while others wait in line); the operator's welcome follows. All at their cap: the
   * line, and the bot says the place. Either way the bot is done. False: nobody is online.
   */
  private async handOver(): Promise<boolean> {
    const online = await onlineOperators(this.tx, this.channel.id);
    if (online.length === 0 || !this.channel.enabled) return false;
    this.phase = 'HANDED_OVER';
    this.dueAt = 'clear';
    const waiting = await this.tx.$count(liveChatSessions, and(eq(liveChatSessions.channelId, this.channel.id), eq(liveChatSessions.status, 'WAITING')));
    const withRoom = waiting > 0 ? [] : online.filter((o) => hasRoom(o.openSessions, this.channel.maxSessionsPerOperator));
    const agentId = chooseOperator(withRoom, { previousOperatorId: this.session.preferredOperatorId, language: this.session.language });
    if (agentId !== null) {
      this.session = await assignSession(this.tx, this.channel, this.session, agentId);
      return true;
    }
    const [waitingNow] = await this.tx.update(liveChatSessions).set({ status: 'WAITING' }).where(eq(liveChatSessions.id, this.session.id)).returning();
    this.session = waitingNow!;
    const place = await this.tx.$count(
      liveChatSessions,
      and(eq(liveChatSessions.channelId, this.channel.id), eq(liveChatSessions.status, 'WAITING'), lte(liveChatSessions.id, this.session.id)),
    );
    await this.say(this.text('WAITING_IN_LINE', place));
    publishSessionChanged(this.tx, this.session);
    return true;
  }

  /**
   * A ticket through the one creation path: customer from the email answer (else the email the
   * visitor started with, else known by name only), the title from the first free input, the
   * description the contact answers then the conversation so far, the bot's part included;
   * linked to the session as /helpdesk links it. The visitor is told its number.
   */
  private async fileTicket(teamId: number): Promise<void> {
    const lines = await transcriptMessages(this.tx, this.session.id);
    const contact = [...(this.state.email ? [`Email: ${this.state.email}`] : []), ...(this.state.phone ? [`Phone: ${this.state.phone}`] : [])];
    const description = [contact.join('\n'), transcriptOf(lines)].filter((part) => part !== '').join('\n\n');
    const firstInput = this.state.freeInputs.find((text) => text.trim() !== '')?.replace(/\s+/g, ' ').trim();
    const ticket = await createTicket(this.tx, {
      teamId,
      title: cutByCodePoints(firstInput || `${this.session.visitorName}'s ticket`, MAX_TICKET_TITLE),
      description: cutByCodePoints(description, MAX_DESCRIPTION),
      channel: 'LIVE_CHAT',
      customer: { email: this.state.email ?? this.session.visitorEmail, name: this.session.visitorName },
      transcript: transcriptForTicket(lines),
      source: { kind: 'LIVE_CHAT_SESSION', id: this.session.id },
    });
    await this.tx.insert(liveChatSessionTickets).values({ sessionId: this.session.id, ticketId: ticket.id });
    this.state = { ...this.state, ticketCreated: true };
    await this.say(this.text('TICKET_CREATED', ticket.number));
    publishSessionChanged(this.tx, this.session);
  }

  private text(key: ChatbotTextKey, n?: number): string {
    return chatbotText(this.session.language, key, n);
  }

  private async say(body: string, options: { step?: ChatbotStepDef | null; redirectUrl?: string } = {}) {
    if (body.trim() === '') return null;
    return appendMessage(this.tx, this.session, {
      authorKind: 'BOT',
      authorName: this.botName,
      body,
      chatbotStepId: options.step?.type === 'QUESTION_SELECTION' ? options.step.id : null,
      redirectUrl: options.redirectUrl ?? null,
    });
  }

  /** Writes the bot's state; `readSeq`: the visitor's messages up to it are read. */
  async save(readSeq: number): Promise<void> {
    const pauseMs = this.settings.chatbotPauseMs ?? DEFAULT_PAUSE_MS;
    await this.tx
      .update(liveChatSessions)
      .set({
        chatbotPhase: this.phase,
        chatbotState: this.state,
        chatbotReadSeq: sql`greatest(${liveChatSessions.chatbotReadSeq}, ${readSeq}::int)`,
        ...(this.dueAt === 'push' && this.listening ? { chatbotDueAt: sql`now() + make_interval(secs => ${pauseMs / 1000})` } : {}),
        ...(this.dueAt === 'clear' || !this.listening ? { chatbotDueAt: null } : {}),
      })
      .where(eq(liveChatSessions.id, this.session.id));
  }
}

import type { DbOrTx } from '../db/client.js';
import { publishEvent, type IntakeEvent } from '../events/hub.js';

/** A chat message was committed; id is the message's. */
export const CHAT_MESSAGE_ADDED = 'chatMessageAdded';
/** A session was created or changed (status, operator, queue position); id is the session's. */
export const LIVE_CHAT_SESSION_CHANGED = 'liveChatSessionChanged';
/** Someone started or stopped typing; nothing is stored, the event carries it all. */
export const CHAT_TYPING = 'chatTyping';

/** Chat events name their session and channel, so subscribers filter before anything is loaded. */
export interface ChatEvent extends IntakeEvent {
  sessionId: number;
  channelId: number;
}

export interface TypingEvent extends ChatEvent {
  authorKind: 'VISITOR' | 'OPERATOR';
  name: string;
  typing: boolean;
}

export async function publishChatEvent(db: DbOrTx, event: ChatEvent): Promise<void> {
  await publishEvent(db, event);
}

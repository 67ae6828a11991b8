import { describe, expect, it } from 'vitest';
import { startsWithChatbot, type VisitChatbot } from '../../src/livechat/chatbot-runtime.js';
import { chatbotKeepsAvailable } from '../../src/livechat/widget-rules.js';

// Pure rules of a chat's start with a bot: whether the bot runs, and whether it keeps the widget available.
const script = { id: 1, title: 'Bot', steps: [] };
const bot = (condition: VisitChatbot['condition']): VisitChatbot => ({ script, condition });

describe('startsWithChatbot', () => {
  const free = [{ openSessions: 0 }];
  const full = [{ openSessions: 2 }];
  it.each([
    ['no rule script', null, free, 2, false],
    ['ALWAYS, operator free', bot('ALWAYS'), free, 2, true],
    ['ALWAYS, nobody online', bot('ALWAYS'), [], 2, true],
    ['ONLY_IF_NO_OPERATOR, operator free', bot('ONLY_IF_NO_OPERATOR'), free, 2, false],
    ['ONLY_IF_NO_OPERATOR, nobody online', bot('ONLY_IF_NO_OPERATOR'), [], 2, true],
    // Online but at the cap: no operator "with room", so the bot answers instead of the line.
    ['ONLY_IF_NO_OPERATOR, all at the cap', bot('ONLY_IF_NO_OPERATOR'), full, 2, true],
    ['ONLY_IF_NO_OPERATOR, no cap', bot('ONLY_IF_NO_OPERATOR'), full, null, false],
    ['ONLY_IF_OPERATOR, operator free', bot('ONLY_IF_OPERATOR'), free, 2, true],
    ['ONLY_IF_OPERATOR, nobody online', bot('ONLY_IF_OPERATOR'), [], 2, false],
    ['ONLY_IF_OPERATOR, all at the cap', bot('ONLY_IF_OPERATOR'), full, 2, false],
  ] as const)('%s', (_name, visit, online, cap, expected) => {
    expect(startsWithChatbot(visit, [...online], cap)).toBe(expected);
  });
});

describe('chatbotKeepsAvailable', () => {
  it.each([
    [null, false],
    [{ chatbotScriptId: null, chatbotCondition: 'ALWAYS' as const }, false],
    [{ chatbotScriptId: 3, chatbotCondition: 'ALWAYS' as const }, true],
    [{ chatbotScriptId: 3, chatbotCondition: 'ONLY_IF_NO_OPERATOR' as const }, true],
    // It runs only when an operator would answer anyway: it adds nothing.
    [{ chatbotScriptId: 3, chatbotCondition: 'ONLY_IF_OPERATOR' as const }, false],
  ])('%j → %s', (rule, expected) => {
    expect(chatbotKeepsAvailable(rule)).toBe(expected);
  });
});

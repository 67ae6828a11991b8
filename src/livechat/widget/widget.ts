// The chat widget: a bubble on the customer's page (or the whole page for the direct link) that
// opens a chat window, all inside an open shadow root. Loaded by loader.ts, or by the
// direct-link page; the channel comes from its script tag's data-channel.
import { GraphqlSocket, graphqlRequest, NetworkError, type UserError } from './api.js';
import { BUBBLE_ICON, STYLES } from './styles.js';
import { fill, textsFor } from './texts.js';

interface WidgetConfig {
  channelId: string;
  name: string;
  buttonText: string;
  welcomeMessage: string;
  inputPlaceholder: string;
  headerBackgroundColor: string;
  titleColor: string;
  buttonBackgroundColor: string;
  buttonTextColor: string;
  action: 'DISPLAY_BUTTON' | 'DISPLAY_BUTTON_AND_TEXT' | 'AUTO_POPUP' | 'HIDE_BUTTON';
  autoPopupSeconds: number;
  available: boolean;
  offlineBehavior: 'LEAVE_MESSAGE' | 'HIDE';
  /** A chat started now opens with a chatbot: it starts as the visitor opens the window, so the bot greets first. */
  chatbot: boolean;
}
/** A button of a bot's question (ChatbotAnswer). */
interface Answer {
  id: string;
  label: string;
  redirectUrl: string | null;
}
interface ChatMessage {
  id: string;
  body: string;
  clientMessageId: string | null;
  author: { kind: string; name: string };
  answers?: Answer[];
  redirectUrl?: string | null;
}
interface Outgoing {
  clientMessageId: string;
  body: string;
}
/** What the browser keeps per channel, across reloads and the site's pages. */
interface Stored {
  token?: string;
  sessionId?: string;
  sessionKey?: string;
  open?: boolean;
  outbox?: Outgoing[];
}
interface SessionState {
  status: 'WAITING' | 'OPEN' | 'CLOSED';
  queuePosition: number | null;
}
type View = 'chat' | 'offline' | 'offline-sent' | 'rating' | 'rated';

const WIDGET_FIELDS = 'channelId name buttonText welcomeMessage inputPlaceholder headerBackgroundColor titleColor buttonBackgroundColor buttonTextColor action autoPopupSeconds available offlineBehavior chatbot';
const ERRORS = 'userErrors{field code message}';
const SESSION = 'id status queuePosition';

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** An address the widget may send the visitor to: http(s) only, never javascript: and the like. */
function webAddress(url: string | null | undefined): string | null {
  try {
    const parsed = new URL(url ?? '');
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | boolean> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  element.append(...children);
  return element;
}

class ChatWidget {
  private readonly key: string;
  private readonly pageMode: boolean;
  private readonly graphqlUrl: string;
  private readonly wsUrl: string;
  private readonly storageKey: string;
  private readonly t;
  private readonly lang: string;
  private config!: WidgetConfig;
  private stored: Stored;
  private host!: HTMLElement;
  private root!: HTMLElement;
  private launcher!: HTMLButtonElement;
  private window!: HTMLElement;
  private panes!: Record<View, HTMLElement>;
  private log!: HTMLElement;
  private welcome!: HTMLElement;
  private typingLine!: HTMLElement;
  private statusLine!: HTMLElement;
  private input!: HTMLTextAreaElement;
  private endButton!: HTMLButtonElement;
  private view: View = 'chat';
  private isOpen = false;
  private session: SessionState | null = null;
  private visitorSocket: GraphqlSocket | null = null;
  private cursor: string | null = null;
  private readonly seen = new Set<string>();
  private readonly pending = new Map<string, HTMLElement>();
  private flushing = false;
  private starting: Promise<boolean> | null = null;
  private typingSentAt = 0;
  private typingStop: ReturnType<typeof setTimeout> | undefined;
  private typingClear: ReturnType<typeof setTimeout> | undefined;
  private connected = true;
  private choosing = false;
  /** The visitor answered with a button: the next question's buttons take the focus (parked on the input meanwhile). */
  private answerFocus = false;

  constructor(script: HTMLScriptElement) {
    this.key = script.dataset.channel!;
    this.pageMode = script.dataset.mode === 'page';
    const base = new URL('..', script.src);
    this.graphqlUrl = new URL('graphql', base).href;
    this.wsUrl = this.graphqlUrl.replace(/^http/, 'ws');
    this.storageKey = `intake-chat:${this.key}`;
    ({ texts: this.t, lang: this.lang } = textsFor(navigator.languages?.length ? navigator.languages : [navigator.language]));
    this.stored = this.load();
    const hostId = script.dataset.host;
    this.host = (hostId && document.getElementById(hostId)) || document.body.appendChild(h('div', { style: 'position:fixed;right:20px;bottom:20px;width:60px;height:60px;z-index:2147483000;pointer-events:none' }));
  }

  async start() {
    const config = await this.retrying(() => graphqlRequest<{ liveChatWidget: WidgetConfig | null }>(this.graphqlUrl, `query($k:String!,$u:String){liveChatWidget(channelKey:$k,pageUrl:$u){${WIDGET_FIELDS}}}`, { k: this.key, u: location.href }));
    if (!config.liveChatWidget || (config.liveChatWidget.action === 'HIDE_BUTTON' && !this.pageMode)) {
      this.host.remove();
      return;
    }
    this.config = config.liveChatWidget;
    this.build();
    if (this.stored.token && this.stored.sessionId) await this.resume();
    // Availability, live: an operator leaving or coming back changes what the bubble offers. The
    // server tells only changes, after the current value: the same value again means the offline
    // behaviour changed, which the widget reads anew.
    let told = false;
    new GraphqlSocket(this.wsUrl, {}).subscribe({
      query: 'subscription($k:String!,$u:String){liveChatAvailability(channelKey:$k,pageUrl:$u)}',
      variables: () => ({ k: this.key, u: location.href }),
      next: async (data: { liveChatAvailability: boolean }) => {
        const again = told && data.liveChatAvailability === this.config.available;
        told = true;
        this.config.available = data.liveChatAvailability;
        if (again) {
          const read = await graphqlRequest<{ liveChatWidget: Pick<WidgetConfig, 'offlineBehavior'> | null }>(this.graphqlUrl, 'query($k:String!,$u:String){liveChatWidget(channelKey:$k,pageUrl:$u){offlineBehavior}}', { k: this.key, u: location.href }).catch(() => null);
          if (read?.liveChatWidget) this.config.offlineBehavior = read.liveChatWidget.offlineBehavior;
        }
        this.render();
      },
    });
    this.render();
    if (this.pageMode || this.stored.open) this.open(false);
    else if (this.config.action === 'AUTO_POPUP') setTimeout(() => this.stored.open === undefined && this.open(false), this.config.autoPopupSeconds * 1000);
  }

  remove() {
    this.host.remove();
  }

  // ------------------------------------------------------------------ storage

  private load(): Stored {
    try {
      return JSON.parse(localStorage.getItem(this.storageKey) ?? '{}') as Stored;
    } catch {
      return {};
    }
  }

  private save() {
    try {
      localStorage.setItem(this.storageKey, JSON.stringify(this.stored));
    } catch {
      // Storage refused (private mode, quota): the chat still works for this page.
    }
  }

  // ------------------------------------------------------------------ the DOM

  private build() {
    const c = this.config;
    const t = this.t;
    const shadow = this.host.attachShadow({ mode: 'open' });
    this.root = h('div', { class: this.pageMode ? 'root page' : 'root', lang: this.lang });
    this.root.style.cssText = `--hb:${c.headerBackgroundColor};--tc:${c.titleColor};--bb:${c.buttonBackgroundColor};--bt:${c.buttonTextColor}`;
    shadow.append(h('style', {}, STYLES), this.root);
    if (this.pageMode) this.host.style.cssText = 'display:block;height:100%';

    this.launcher = h('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-haspopup': 'dialog' });
    this.launcher.addEventListener('click', () => this.open(true));

    const titleId = 'intake-chat-title';
    const minimize = h('button', { type: 'button', 'aria-label': t.minimize, title: t.minimize }, '–');
    minimize.addEventListener('click', () => this.close());
    this.endButton = h('button', { type: 'button', 'aria-label': t.endChat, title: t.endChat }, '×');
    this.endButton.addEventListener('click', () => void this.endChat());
    const header = h('header', {}, h(this.pageMode ? 'h1' : 'h2', { id: titleId }, c.name), ...(this.pageMode ? [] : [minimize]), this.endButton);
    this.statusLine = h('p', { class: 'status', role: 'status' });

    // Chat: the welcome message first, then the conversation; role=log announces new messages.
    this.welcome = h('div', { class: 'msg operator welcome' }, h('span', { class: 'body' }, c.welcomeMessage));
    // A bot greets by itself: the channel's welcome is not shown before it.
    this.welcome.hidden = c.chatbot;
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t.messages, tabindex: '0' }, this.welcome);
    this.typingLine = h('p', { class: 'typing', 'aria-live': 'polite' });
    this.input = h('textarea', { name: 'message', rows: '1', placeholder: c.inputPlaceholder, 'aria-label': t.message, maxlength: '4000' });
    const compose = h('form', { class: 'compose' }, this.input, h('button', { type: 'submit', class: 'primary' }, t.send));
    compose.addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendFromInput();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendFromInput();
      }
    });
    this.input.addEventListener('focus', () => this.startBot());
    this.input.addEventListener('input', () => {
      this.answerFocus = false;
      this.typed();
    });
    const chat = h('div', { class: 'pane-chat', style: 'display:flex;flex-direction:column;flex:1;min-height:0' }, this.log, this.typingLine, compose);

    this.panes = { chat, offline: this.buildOfflineForm(), 'offline-sent': h('div', { class: 'pane' }), rating: this.buildRating(), rated: this.buildRated() };
    const attributes: Record<string, string> = this.pageMode ? { class: 'window' } : { class: 'window', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId, hidden: '' };
    this.window = h(this.pageMode ? 'main' : 'div', attributes, header, this.statusLine, ...Object.values(this.panes));
    this.window.addEventListener('keydown', (event) => this.trapFocus(event));
    this.root.append(this.launcher, this.window);
  }

  private buildOfflineForm(): HTMLElement {
    const t = this.t;
    const field = (name: string, label: string, control: HTMLInputElement | HTMLTextAreaElement) => {
      const id = `intake-offline-${name}`;
      control.id = id;
      control.name = name;
      control.setAttribute('aria-describedby', `${id}-error`);
      return h('div', {}, h('label', { for: id }, label), control, h('p', { class: 'error', id: `${id}-error` }));
    };
    const form = h(
      'form',
      { class: 'pane', novalidate: true },
      h('h3', { style: 'margin:0;font-size:16px' }, t.leaveMessage),
      h('p', {}, t.offlineIntro),
      field('name', t.name, h('input', { type: 'text', autocomplete: 'name', required: true, maxlength: '120' })),
      field('email', t.email, h('input', { type: 'email', autocomplete: 'email', required: true })),
      field('message', t.message, h('textarea', { rows: '4', required: true, maxlength: '10000' })),
      // The trap: people never see or reach it; bots that fill every field are refused.
      h('div', { class: 'trap', 'aria-hidden': 'true' }, h('label', { for: 'intake-offline-websiteUrl' }, 'Website'), h('input', { id: 'intake-offline-websiteUrl', name: 'websiteUrl', tabindex: '-1', autocomplete: 'off' })),
      h('p', { class: 'error', role: 'alert' }),
      h('div', {}, h('button', { type: 'submit', class: 'primary' }, t.sendMessage)),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.leaveMessage(form);
    });
    // A field being corrected loses its error.
    form.addEventListener('input', (event) => {
      const control = event.target as HTMLElement;
      if (control.getAttribute('aria-invalid') !== 'true') return;
      control.setAttribute('aria-invalid', 'false');
      form.querySelector(`#${control.id}-error`)!.textContent = '';
    });
    return form;
  }

  private buildRating(): HTMLElement {
    const t = this.t;
    const choices = (['SATISFIED', 'OKAY', 'DISSATISFIED'] as const).map((value) =>
      h('label', {}, h('input', { type: 'radio', name: 'rating', value, required: true }), { SATISFIED: t.satisfied, OKAY: t.okay, DISSATISFIED: t.dissatisfied }[value]),
    );
    const skip = h('button', { type: 'button', class: 'secondary' }, t.skip);
    skip.addEventListener('click', () => this.finish());
    const form = h(
      'form',
      { class: 'pane' },
      h('p', {}, t.ended),
      h('fieldset', {}, h('legend', {}, t.rateQuestion), ...choices),
      h('div', {}, h('label', { for: 'intake-rating-comment' }, t.comment), h('textarea', { id: 'intake-rating-comment', name: 'comment', rows: '3', maxlength: '2000' })),
      h('p', { class: 'error', role: 'alert' }),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, t.sendRating), skip),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.rate(form);
    });
    return form;
  }

  private buildRated(): HTMLElement {
    const again = h('button', { type: 'button', class: 'primary' }, this.t.newChat);
    again.addEventListener('click', () => this.finish());
    return h('div', { class: 'pane' }, h('p', { role: 'status' }, this.t.thanks), h('div', {}, again));
  }

  /** What the bubble offers and which pane shows, from availability and the session. */
  private render() {
    const c = this.config;
    const offline = !c.available && !this.stored.sessionId;
    const hidden = this.pageMode ? true : offline && c.offlineBehavior === 'HIDE';
    if (this.view === 'chat' && offline && c.offlineBehavior === 'LEAVE_MESSAGE') this.view = 'offline';
    if (this.view === 'offline' && !offline) this.view = 'chat';
    const label = offline && c.offlineBehavior === 'LEAVE_MESSAGE' ? this.t.leaveMessage : c.buttonText;
    this.launcher.replaceChildren();
    this.launcher.insertAdjacentHTML('afterbegin', BUBBLE_ICON);
    if (c.action === 'DISPLAY_BUTTON_AND_TEXT') {
      this.launcher.className = 'launcher';
      this.launcher.removeAttribute('aria-label');
      this.launcher.append(h('span', {}, label));
    } else {
      this.launcher.className = 'launcher icon';
      this.launcher.setAttribute('aria-label', label);
    }
    this.launcher.hidden = hidden || this.isOpen;
    if (hidden && offline && this.isOpen && !this.pageMode) this.close();
    for (const [view, pane] of Object.entries(this.panes)) pane.hidden = view !== this.view;
    this.endButton.hidden = this.view !== 'chat' || !this.stored.sessionId;
    const status = !this.connected && this.stored.sessionId ? this.t.reconnecting : this.session?.status === 'WAITING' && this.session.queuePosition ? fill(this.t.waiting, { n: this.session.queuePosition }) : '';
    if (this.statusLine.textContent !== status) this.statusLine.textContent = status;
  }

  // ------------------------------------------------------------------ open, close, focus

  private open(focus: boolean) {
    this.isOpen = true;
    this.stored.open = true;
    this.save();
    this.window.hidden = false;
    this.launcher.setAttribute('aria-expanded', 'true');
    this.render();
    if (focus) this.focusFirst();
    this.log.scrollTop = this.log.scrollHeight;
    // Opened by the visitor (or the direct-link page): a bot's chat starts now, so that it greets first.
    if (focus || this.pageMode) this.startBot();
  }

  /** A bot answers here: the chat starts before the visitor writes (a window that popped up by itself: at the input's focus). */
  private startBot() {
    if (this.config.chatbot && !this.stored.sessionId && this.view === 'chat') this.ensureSession().catch(() => {});
  }

  private close() {
    if (this.pageMode) return;
    this.isOpen = false;
    this.stored.open = false;
    this.save();
    this.window.hidden = true;
    this.launcher.setAttribute('aria-expanded', 'false');
    this.render();
    this.launcher.focus();
  }

  private focusFirst() {
    const pane = this.panes[this.view];
    const target = this.view === 'chat' ? this.input : this.focusable().find((e) => pane.contains(e));
    target?.focus();
  }

  private focusable(): HTMLElement[] {
    return Array.from(this.window.querySelectorAll<HTMLElement>('button,input,textarea,[tabindex="0"]')).filter((e) => !e.closest('[hidden]') && !e.closest('.trap') && e.getClientRects().length > 0);
  }

  /** Tab stays inside the open window (wrapping at its ends, the browser's order elsewhere); Escape minimizes it. */
  private trapFocus(event: KeyboardEvent) {
    if (this.pageMode) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      this.close();
      return;
    }
    if (event.key !== 'Tab') return;
    const items = this.focusable();
    if (items.length === 0) return;
    const active = (this.host.shadowRoot!.activeElement as HTMLElement | null) ?? null;
    const first = items[0]!;
    const last = items[items.length - 1]!;
    const wrapTo = !active || !items.includes(active) ? first : event.shiftKey && active === first ? last : !event.shiftKey && active === last ? first : null;
    if (!wrapTo) return;
    event.preventDefault();
    wrapTo.focus();
  }

  // ------------------------------------------------------------------ the session

  /** A stored token whose session still runs continues it; else a new chat will name it as previous. */
  private async resume() {
    try {
      const data = await this.retrying(() => graphqlRequest(this.graphqlUrl, `query($id:ID!){liveChatSession(id:$id){${SESSION}}}`, { id: this.stored.sessionId }, this.stored.token));
      const session = data.liveChatSession as (SessionState & { id: string }) | null;
      if (session && session.status !== 'CLOSED') {
        this.session = session;
        this.attach();
        if (this.stored.outbox?.length) for (const item of this.stored.outbox) this.showPending(item);
        void this.flush();
        return;
      }
    } catch {
      // The token is no longer accepted: the session is gone.
    }
    this.forgetSession();
  }

  private forgetSession() {
    delete this.stored.token;
    delete this.stored.sessionId;
    this.save();
  }

  /** The visitor's socket: messages from the last cursor on, typing and the session's changes. */
  private attach() {
    const sessionId = this.stored.sessionId!;
    const socket = new GraphqlSocket(this.wsUrl, { authorization: `Bearer ${this.stored.token}` }, (connected) => {
      this.connected = connected;
      this.render();
      // Session changes are live only: what happened while the socket was away is read once.
      if (connected) void this.refreshSession();
    });
    this.visitorSocket = socket;
    socket.subscribe({
      query: `subscription($s:ID!,$a:String){chatMessageAdded(sessionId:$s,after:$a){cursor node{id body clientMessageId author{kind name} answers{id label redirectUrl} redirectUrl}}}`,
      variables: () => ({ s: sessionId, a: this.cursor }),
      next: (data) => this.received(data.chatMessageAdded),
    });
    socket.subscribe({
      query: 'subscription($s:ID!){chatTyping(sessionId:$s){authorKind name typing}}',
      variables: () => ({ s: sessionId }),
      next: ({ chatTyping }: { chatTyping: { authorKind: string; name: string; typing: boolean } }) => {
        if (chatTyping.authorKind === 'VISITOR') return;
        clearTimeout(this.typingClear);
        this.typingLine.textContent = chatTyping.typing ? fill(this.t.typing, { name: chatTyping.name }) : '';
        if (chatTyping.typing) this.typingClear = setTimeout(() => (this.typingLine.textContent = ''), 8000);
      },
    });
    socket.subscribe({
      query: `subscription($s:ID!){liveChatSessionChanged(sessionId:$s){${SESSION}}}`,
      variables: () => ({ s: sessionId }),
      next: ({ liveChatSessionChanged }: { liveChatSessionChanged: SessionState }) => {
        this.applySession(liveChatSessionChanged);
      },
    });
  }

  private applySession(session: SessionState) {
    this.session = session;
    if (session.status === 'CLOSED') this.ended();
    this.render();
  }

  private async refreshSession() {
    const sessionId = this.stored.sessionId;
    if (!sessionId) return;
    const data = await graphqlRequest(this.graphqlUrl, `query($id:ID!){liveChatSession(id:$id){${SESSION}}}`, { id: sessionId }, this.stored.token).catch(() => null);
    if (data?.liveChatSession && this.stored.sessionId === sessionId) this.applySession(data.liveChatSession);
  }

  private received(edge: { cursor: string; node: ChatMessage }) {
    this.cursor = edge.cursor;
    const { node } = edge;
    if (this.seen.has(node.id)) return;
    this.seen.add(node.id);
    // The welcome shown first is the one the operator's session starts with: shown once.
    if (node.author.kind === 'OPERATOR' && node.body === this.config.welcomeMessage && !this.welcome.hidden) {
      this.welcome.hidden = true;
    }
    if (node.author.kind === 'BOT') this.welcome.hidden = true;
    // A later message ends the earlier question: only the latest one's buttons are offered.
    this.removeAnswers(this.log);
    const element = this.messageElement(node.author.kind, node.author.name, node.body, node);
    const mine = node.clientMessageId ? this.pending.get(node.clientMessageId) : undefined;
    if (mine) {
      mine.replaceWith(element);
      this.pending.delete(node.clientMessageId!);
    } else {
      const firstPending = this.pending.values().next().value as HTMLElement | undefined;
      this.log.insertBefore(element, firstPending ?? null);
    }
    if (node.author.kind !== 'VISITOR') this.typingLine.textContent = '';
    // An operator writing to a waiting visitor means it was served (its welcome): the line is over.
    if (node.author.kind === 'OPERATOR' && this.session?.status === 'WAITING') void this.refreshSession();
    this.log.scrollTop = this.log.scrollHeight;
  }

  private messageElement(kind: string, name: string, body: string, message?: ChatMessage): HTMLElement {
    // A bot's redirect: its address as a link (http(s) only), which the visitor may follow.
    const url = webAddress(message?.redirectUrl);
    const text = url ? h('a', { href: url, target: this.pageMode ? '_blank' : '_top', rel: 'noopener noreferrer' }, body) : body;
    const element = h('div', { class: `msg ${kind.toLowerCase()}`, 'data-author': kind }, h('span', { class: 'who' }, `${name}: `), h('span', { class: 'body' }, text));
    const answers = message?.answers ?? [];
    if (answers.length === 0) return element;
    // A bot's question: its answers as buttons, right under it.
    const group = h('div', { class: 'answers', role: 'group', 'aria-label': this.t.answers });
    for (const answer of answers) {
      const button = h('button', { type: 'button', class: 'secondary' }, answer.label);
      button.addEventListener('click', () => void this.choose(answer, group));
      group.append(button);
    }
    const wrapper = h('div', { style: 'display:contents' }, element, group);
    // After an answer by button, the next question's answers take the focus, unless the visitor is typing.
    if (this.answerFocus && this.host.shadowRoot!.activeElement === this.input && !this.input.value) {
      this.answerFocus = false;
      queueMicrotask(() => group.isConnected && group.querySelector('button')!.focus());
    }
    return wrapper;
  }

  /** Takes away the answer buttons inside `scope`; focus on one of them goes to the input. */
  private removeAnswers(scope: HTMLElement) {
    const active = this.host.shadowRoot!.activeElement;
    for (const group of scope.querySelectorAll('.answers')) {
      if (group.contains(active)) {
        this.answerFocus = true;
        this.input.focus();
      }
      group.remove();
    }
  }

  /** A line of the widget itself in the conversation (not a message): the visitor is told what to do. */
  private notice(text: string) {
    this.log.append(h('div', { class: 'msg notice', role: 'alert' }, h('span', { class: 'body' }, text)));
    this.log.scrollTop = this.log.scrollHeight;
  }

  /** The visitor presses an answer button: chooseChatbotAnswer; a redirect answer then sends the visitor to its address. */
  private async choose(answer: Answer, group: HTMLElement) {
    if (this.choosing || !this.stored.sessionId) return;
    this.choosing = true;
    const buttons = Array.from(group.querySelectorAll('button'));
    for (const button of buttons) button.setAttribute('aria-disabled', 'true');
    const url = webAddress(answer.redirectUrl);
    // The direct-link page keeps the chat: the address opens in a new tab, while the click still counts as the visitor's.
    if (url && this.pageMode) window.open(url, '_blank', 'noopener,noreferrer');
    try {
      const data = await this.retrying(() =>
        graphqlRequest(this.graphqlUrl, `mutation($i:ChooseChatbotAnswerInput!){chooseChatbotAnswer(input:$i){session{${SESSION}} ${ERRORS}}}`, { i: { sessionId: this.stored.sessionId, answerId: answer.id } }, this.stored.token),
      );
      const error = (data.chooseChatbotAnswer.userErrors as UserError[])[0];
      if (!error) {
        this.removeAnswers(group.parentElement ?? group);
        if (url && !this.pageMode) {
          // The host page goes there; the chat stays, minimized, for the next page.
          this.stored.open = false;
          this.save();
          location.assign(url);
        }
      } else if (error.code === 'SESSION_CLOSED') {
        this.ended();
      } else if (error.code === 'INVALID_VALUE') {
        // Answered elsewhere (another tab) or no longer current: the buttons go, the visitor is told.
        this.removeAnswers(group.parentElement ?? group);
        this.notice(this.t.answerNotOffered);
      } else {
        this.notice(error.message);
      }
    } catch {
      this.notice(this.t.failed);
    } finally {
      this.choosing = false;
      for (const button of buttons) button.removeAttribute('aria-disabled');
    }
  }

  private showPending(item: Outgoing) {
    const element = this.messageElement('VISITOR', '', item.body);
    element.classList.add('pending');
    element.dataset.clientMessageId = item.clientMessageId;
    this.pending.set(item.clientMessageId, element);
    this.log.append(element);
    this.log.scrollTop = this.log.scrollHeight;
  }

  private sendFromInput() {
    const body = this.input.value.trim();
    if (!body) return;
    this.input.value = '';
    clearTimeout(this.typingStop);
    if (this.typingSentAt) this.setTyping(false);
    const item = { clientMessageId: randomId(), body };
    (this.stored.outbox ??= []).push(item);
    this.save();
    this.showPending(item);
    void this.flush();
  }

  /** Sends the kept messages in order; each retry carries its message's clientMessageId unchanged. */
  private async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.stored.outbox?.length) {
        if (!(await this.ensureSession())) return;
        const item = this.stored.outbox[0]!;
        const data = await this.retrying(() =>
          graphqlRequest(this.graphqlUrl, `mutation($i:SendChatMessageInput!){sendChatMessage(input:$i){message{id} ${ERRORS}}}`, { i: { sessionId: this.stored.sessionId, ...item } }, this.stored.token),
        );
        const errors: UserError[] = data.sendChatMessage.userErrors;
        const limited = errors.find((e) => e.code === 'RATE_LIMITED');
        if (limited) {
          await new Promise((resolve) => setTimeout(resolve, 3000));
          continue;
        }
        this.stored.outbox.shift();
        this.save();
        if (errors.length) {
          const element = this.pending.get(item.clientMessageId);
          this.pending.delete(item.clientMessageId);
          element?.classList.replace('pending', 'failed');
          element?.prepend(h('strong', {}, `${this.t.notSent} ${errors[0]!.message} `));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Starts the chat at the first message; with nobody to answer, offers to leave it as a message. */
  private ensureSession(): Promise<boolean> {
    if (this.stored.sessionId) return Promise.resolve(true);
    return (this.starting ??= (async () => {
      const data = await this.retrying(() =>
        graphqlRequest(
          this.graphqlUrl,
          `mutation($i:StartLiveChatInput!){startLiveChat(input:$i){session{${SESSION}} visitorToken sessionKey ${ERRORS}}}`,
          { i: { channelId: this.config.channelId, pageUrl: location.href, language: this.lang, previousSessionKey: this.stored.sessionKey ?? null } },
        ),
      );
      this.starting = null;
      const result = data.startLiveChat;
      if (!result.session) {
        const outbox = this.stored.outbox ?? [];
        this.stored.outbox = [];
        this.save();
        for (const element of this.pending.values()) element.remove();
        this.pending.clear();
        this.config.available = false;
        this.view = 'offline';
        this.render();
        const message = this.panes.offline.querySelector('textarea')!;
        message.value = outbox.map((o) => o.body).join('\n');
        return false;
      }
      Object.assign(this.stored, { token: result.visitorToken, sessionId: result.session.id, sessionKey: result.sessionKey });
      this.save();
      this.session = result.session;
      this.attach();
      this.render();
      return true;
    })());
  }

  private typed() {
    if (!this.stored.sessionId) return;
    clearTimeout(this.typingStop);
    this.typingStop = setTimeout(() => this.setTyping(false), 4000);
    if (Date.now() - this.typingSentAt > 3000) this.setTyping(true);
  }

  private setTyping(typing: boolean) {
    this.typingSentAt = typing ? Date.now() : 0;
    graphqlRequest(this.graphqlUrl, `mutation($i:SetChatTypingInput!){setChatTyping(input:$i){${ERRORS}}}`, { i: { sessionId: this.stored.sessionId, typing } }, this.stored.token).catch(() => {});
  }

  private async endChat() {
    if (!this.stored.sessionId) return;
    await this.retrying(() => graphqlRequest(this.graphqlUrl, `mutation($i:CloseLiveChatInput!){closeLiveChat(input:$i){${ERRORS}}}`, { i: { sessionId: this.stored.sessionId } }, this.stored.token));
    this.ended();
  }

  /** The session is over (the visitor, the operator or inactivity closed it): ask for a rating. */
  private ended() {
    if (this.view === 'rating' || this.view === 'rated') return;
    this.view = 'rating';
    this.render();
    if (this.isOpen) this.focusFirst();
  }

  private async rate(form: HTMLFormElement) {
    const data = new FormData(form);
    const rating = data.get('rating');
    const error = form.querySelector<HTMLElement>('[role=alert]')!;
    if (!rating) {
      error.textContent = this.t.required;
      form.querySelector('input')!.focus();
      return;
    }
    const comment = String(data.get('comment') ?? '').trim();
    try {
      const result = await this.retrying(() =>
        graphqlRequest(this.graphqlUrl, `mutation($i:RateLiveChatInput!){rateLiveChat(input:$i){${ERRORS}}}`, { i: { sessionId: this.stored.sessionId, rating, comment: comment || null } }, this.stored.token),
      );
      if (result.rateLiveChat.userErrors.length) {
        error.textContent = result.rateLiveChat.userErrors[0].message;
        return;
      }
    } catch {
      error.textContent = this.t.failed;
      return;
    }
    this.view = 'rated';
    this.render();
    this.focusFirst();
  }

  /** After the rating (or without): the session is forgotten but its key kept, for the next chat. */
  private finish() {
    this.visitorSocket?.dispose();
    this.visitorSocket = null;
    this.forgetSession();
    this.session = null;
    this.cursor = null;
    this.seen.clear();
    this.log.replaceChildren(this.welcome);
    this.welcome.hidden = this.config.chatbot;
    for (const form of [this.panes.rating, this.panes.offline] as HTMLFormElement[]) form.reset();
    this.view = 'chat';
    this.render();
    if (this.isOpen) this.focusFirst();
  }

  private async leaveMessage(form: HTMLFormElement) {
    const data = new FormData(form);
    const value = (name: string) => String(data.get(name) ?? '').trim();
    const alert = form.querySelector<HTMLElement>('[role=alert]')!;
    alert.textContent = '';
    let invalid: HTMLElement | null = null;
    for (const name of ['name', 'email', 'message']) {
      const control = form.querySelector<HTMLInputElement>(`#intake-offline-${name}`)!;
      const message = value(name) ? '' : this.t.required;
      form.querySelector(`#intake-offline-${name}-error`)!.textContent = message;
      control.setAttribute('aria-invalid', String(!!message));
      if (message) invalid ??= control;
    }
    if (invalid) return invalid.focus();
    try {
      const result = await this.retrying(() =>
        graphqlRequest(this.graphqlUrl, `mutation($i:LeaveLiveChatMessageInput!){leaveLiveChatMessage(input:$i){ticketNumber ${ERRORS}}}`, {
          i: { channelKey: this.key, name: value('name'), email: value('email'), message: value('message'), pageUrl: location.href, websiteUrl: String(data.get('websiteUrl') ?? '') },
        }),
      );
      const { ticketNumber, userErrors } = result.leaveLiveChatMessage as { ticketNumber: number | null; userErrors: UserError[] };
      if (ticketNumber == null) {
        for (const e of userErrors) {
          const target = e.field?.[e.field.length - 1];
          const slot = target ? form.querySelector(`#intake-offline-${target}-error`) : null;
          if (slot) slot.textContent = e.message;
          else alert.textContent = e.message;
        }
        return;
      }
      this.panes['offline-sent'].replaceChildren(h('p', { role: 'status', 'data-ticket-number': String(ticketNumber) }, fill(this.t.ticketCreated, { n: ticketNumber })));
      this.view = 'offline-sent';
      this.render();
    } catch {
      alert.textContent = this.t.failed;
    }
  }

  /** Runs a request until it gets an answer: a dropped network only delays it. */
  private async retrying<T>(request: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (!(error instanceof NetworkError) || attempt >= 8) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** attempt)));
      }
    }
  }
}

const script = document.currentScript as HTMLScriptElement | null;
if (script?.dataset.channel) {
  const widget = new ChatWidget(script);
  // Intake unreachable or this site not allowed: the page stays as it was, without a chat.
  widget.start().catch(() => widget.remove());
}

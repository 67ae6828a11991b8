import { benchBigMail } from './big-mail.js';
import { benchLiveChat } from './livechat.js';
import { benchObservability } from './observability.js';
import { benchOutbound } from './outbound.js';
import { benchReplies } from './replies.js';
import { benchSlaRecompute } from './sla-recompute.js';
import { benchSmtpAmplification } from './smtp-amplification.js';
import { benchSmtpIntake } from './smtp-intake.js';
import { benchStartup } from './startup.js';
import { benchTicketList } from './tickets-http.js';
import { benchWidget } from './widget.js';

// Each benchmark prints JSON lines: one per figure, its baseline from the same run beside it.
const seconds = Number(process.env.BENCH_SECONDS || 10);
const only = process.argv[2];

const benches: Record<string, () => Promise<void>> = {
  'ticket-list': () => benchTicketList(seconds),
  observability: () => benchObservability(seconds),
  'smtp-intake': () => benchSmtpIntake(seconds),
  'smtp-amplification': () => benchSmtpAmplification(),
  'big-mail': () => benchBigMail(Number(process.env.BENCH_ROUNDS || 3)),
  'sla-recompute': () => benchSlaRecompute(),
  livechat: () => benchLiveChat(seconds),
  startup: () => benchStartup(Number(process.env.BENCH_ROUNDS || 5)),
  widget: () => benchWidget(Number(process.env.BENCH_ROUNDS || 5)),
  outbound: () => benchOutbound(seconds),
  replies: () => benchReplies(seconds),
};

for (const [name, bench] of Object.entries(benches)) {
  if (only && only !== name) continue;
  await bench();
}

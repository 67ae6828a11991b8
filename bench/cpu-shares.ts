import { readFileSync } from 'node:fs';

/**
 * Shares of a V8 CPU profile (`node --cpu-prof`) by what the time went to: each sample's
 * innermost frame decides, by the package or folder of its script (see `category`).
 *   tsx bench/cpu-shares.ts <file.cpuprofile>
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// In priority order: a sample whose stack passes through mailparser is parsing, whatever the
// stream or buffer code at its top.
const RULES: Array<[RegExp, string]> = [
  [/tsx\/|esbuild|get-tsconfig|migrat/, 'startup (tsx, migrations)'],
  [/nodemailer/, 'load generator (nodemailer)'],
  [/mailparser|libmime|libqp|libbase64|iconv-lite|encoding-japanese|html-to-text|linkify|punycode|he\/|tlds|htmlparser2|domhandler|entities|selderee|parseley|leac|peberminta|deepmerge/, 'parse (mailparser and its helpers)'],
  [/postgres\/|pg-protocol|pglite/, 'database driver (postgres.js, its socket writes)'],
  [/drizzle-orm/, 'query building (drizzle)'],
  [/src\/events\//, 'event fan-out (src/events)'],
  [/src\/mail\/|src\/text\//, 'intake logic (src/mail, src/text)'],
  [/src\/tickets\/|src\/sla\//, 'tickets and SLA hooks'],
  [/graphql|yoga|pothos|envelop/, 'GraphQL'],
  [/smtp-server|ipv6-normalize|base32|net\.js|stream_base|_stream|internal\/streams/, 'SMTP protocol and sockets'],
];

function category(id: number): string {
  const { functionName } = byId.get(id)!.callFrame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'program (V8/native, unattributed)';
  const urls: string[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) urls.push(byId.get(at)!.callFrame.url);
  for (const [pattern, name] of RULES) if (urls.some((url) => pattern.test(url))) return name;
  return 'other (node internals, crypto, JSON, ...)';
}

const totals = new Map<string, number>();
let all = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  all += dt;
  const c = category(id);
  totals.set(c, (totals.get(c) ?? 0) + dt);
});
const busy = all - (totals.get('idle') ?? 0);
const shares = [...totals].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: Math.round(us / 1000), of_busy: name === 'idle' ? null : Math.round((us / busy) * 1000) / 10 }));
process.stdout.write(JSON.stringify({ wall_ms: Math.round(all / 1000), busy_ms: Math.round(busy / 1000), shares }, null, 1) + '\n');

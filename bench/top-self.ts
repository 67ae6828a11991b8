import { readFileSync } from 'node:fs';

/**
 * The functions of a V8 CPU profile (`node --cpu-prof`) with the most self time, and with the most
 * total time (self and callees), idle left out; samples of the first `skip` seconds (startup,
 * warm-up) are left out too:  tsx bench/top-self.ts <file.cpuprofile> [count] [skip]
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const count = Number(process.argv[3] ?? 40);
const skipUs = Number(process.argv[4] ?? 0) * 1e6;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const nameOf = (id: number) => {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/src\//, 'src/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
};
const self = new Map<string, number>();
const total = new Map<string, number>();
let busy = 0;
let at = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  if (at < skipUs || byId.get(id)!.callFrame.functionName === '(idle)') return;
  busy += dt;
  self.set(nameOf(id), (self.get(nameOf(id)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
    const name = nameOf(node);
    if (seen.has(name)) continue;
    seen.add(name);
    total.set(name, (total.get(name) ?? 0) + dt);
  }
});
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`${title} (of ${Math.round(busy / 1000)} ms busy)\n`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, count)) process.stdout.write(`${((us / busy) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
};
print('self', self);
print('total', total);

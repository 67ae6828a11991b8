/** One scrape of /metrics: every sample by its name and labels. */
export class Scrape {
  constructor(readonly samples: ReadonlyMap<string, number>, readonly text: string) {}

  /** A sample's value, 0 when the series does not exist (yet). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples.get(keyOf(name, labels)) ?? 0;
  }

  /** The label sets of every series of a name. */
  series(name: string): Array<Record<string, string>> {
    return [...this.samples.keys()].filter((key) => key.startsWith(`${name}{`) || key === name).map((key) => JSON.parse(key.slice(name.length) || '{}'));
  }
}

function keyOf(name: string, labels: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  return Object.keys(sorted).length === 0 ? name : `${name}${JSON.stringify(sorted)}`;
}

/** Reads the Prometheus text format as prom-client writes it. */
export function parseMetrics(text: string): Scrape {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, label, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[label!] = value!.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    samples.set(keyOf(match[1]!, labels), Number(match[3]));
  }
  return new Scrape(samples, text);
}

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return parseMetrics(await response.text());
}

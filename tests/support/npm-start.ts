import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The arguments `npm start` gives node (its flags, then `bin/intake.mjs start`), read from
 * package.json: tests and benchmarks run the server exactly as an operator does. `entry` swaps the
 * script and its arguments for another, under the same flags.
 */
export function npmStartArgs(entry?: { script: string; args: string[] }): string[] {
  const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  // `exec`: the shell npm runs the script in becomes node, so npm's signals reach the server.
  const [exec, command, ...words] = scripts.start.split(/\s+/);
  if (exec !== 'exec' || command !== 'node') throw new Error(`npm start should exec node, not run ${scripts.start}`);
  const script = words.findIndex((word) => /\.(ts|mjs)$/.test(word));
  const flags = words.slice(0, script);
  if (!entry) return [...flags, path.join(root, words[script]!), ...words.slice(script + 1)];
  // npm start runs a bundle (bin/intake.mjs); another TypeScript entry runs through tsx.
  const loader = entry.script.endsWith('.ts') && !flags.includes('tsx') ? ['--import', 'tsx'] : [];
  return [...flags, ...loader, path.join(root, entry.script), ...entry.args];
}

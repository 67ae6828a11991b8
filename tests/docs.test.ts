import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeModules } from '../src/app-module.js';
import { USER_ERROR_CODES } from '../src/errors.js';
import { INTAKE_MODULES } from '../src/modules.js';
import { root } from './support/databases.js';

// docs/ARCHITECTURE.md is the house plan as built: what can be checked against the code is.
const plan = readFileSync(path.join(root, 'docs/ARCHITECTURE.md'), 'utf8');

/** The text of the bullet (or paragraph) that starts with `**title**`. */
function bullet(title: string): string {
  const start = plan.indexOf(`**${title}**`);
  expect(start, `docs/ARCHITECTURE.md has a part "${title}"`).toBeGreaterThan(-1);
  const end = plan.slice(start).search(/\n(- \*\*|\n)/);
  return plan.slice(start, end === -1 ? undefined : start + end);
}

describe('docs/ARCHITECTURE.md is kept current', () => {
  it('names every module of src/modules.ts, in their order', () => {
    const list = /INTAKE_MODULES[^=]*= \[([^\]]*)\]/.exec(readFileSync(path.join(root, 'src/modules.ts'), 'utf8'))![1]!.split(',').map((name) => name.trim());
    expect(list).toHaveLength(INTAKE_MODULES.length);
    const positions = list.map((name) => plan.indexOf(`\`${name}\``));
    expect(list.filter((_, i) => positions[i] === -1)).toEqual([]);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('says of every event type whether it is logged or live-only', () => {
    const events = composeModules(INTAKE_MODULES).events;
    expect(events.length).toBeGreaterThan(2);
    const logged = bullet('Logged events');
    const liveOnly = bullet('Live-only events');
    for (const type of events) {
      expect(type.liveOnly ? liveOnly : logged, `${type.name} in the right list`).toContain(`\`${type.name}\``);
      expect(type.liveOnly ? logged : liveOnly, `${type.name} not in the other list`).not.toContain(`\`${type.name}\``);
    }
  });

  it('lists every userError code of src/errors.ts, in its order, and no other', () => {
    const table = plan.slice(plan.indexOf('<!-- user-error-codes'));
    const rows = table.split('\n').slice(1).filter((line, i, lines) => line.startsWith('|') && lines.slice(0, i).every((l) => l.startsWith('|')));
    const codes = rows.slice(2).map((row) => /^\| `([A-Z_]+)` \|/.exec(row)?.[1]);
    expect(codes).toEqual(Object.keys(USER_ERROR_CODES));
  });
});

// README.md's list of public fields is what a client and an operator trust: it follows the authorization matrix.
describe('README.md', () => {
  it('names every root field an anonymous caller may call as a public one, and no other (the committed authorization matrix)', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const sentence = /except the few public ones \(([^;]*);/.exec(readme)?.[1];
    expect(sentence, "README's Security section lists the public fields").toBeDefined();
    const named = [...sentence!.matchAll(/`(\w+)`/g)].map((match) => match[1]);
    const matrix = JSON.parse(readFileSync(path.join(root, 'tests/auth/authorization-matrix.json'), 'utf8')) as Record<string, string[]>;
    const anonymous = Object.entries(matrix)
      .filter(([, callers]) => callers.includes('anonymous'))
      .map(([field]) => field.split('.')[1]);
    expect([...named].sort()).toEqual([...anonymous].sort());
  });
});

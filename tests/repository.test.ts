import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './support/databases.js';
import { findOutsidePaths, findOutsidePathsInMarkdown, outsidePathsIn, sourceFiles } from './support/outside-paths.js';

// A fresh clone has only what is committed: a test or the code that reads a file beside the
// repository passes here and fails there (the mail corpus once lived in a folder beside it).
describe('the repository is self-contained', () => {
  it('recognises paths that lead outside the repository, and leaves the others alone', () => {
    const file = path.join(root, 'tests/mail/example.test.ts');
    const outside = (line: string) => findOutsidePaths(root, file, line).map((found) => found.literal);
    expect(outside(`const corpus = path.resolve(root, '../beside/mail-corpus');`)).toEqual(['../beside/mail-corpus']);
    expect(outside('const corpus = `${root}/../beside/mail-corpus`;')).toEqual(['${root}/../beside/mail-corpus']);
    expect(outside(`readFileSync(new URL('../../../beside/a.eml', import.meta.url));`)).toEqual(['../../../beside/a.eml']);
    const beside = path.join(path.dirname(root), 'shared/mail-corpus');
    expect(outside(`readdirSync('${beside}');`)).toEqual([beside]);

    expect(outside(`const corpus = path.join(root, 'tests/fixtures/mail-corpus');`)).toEqual([]);
    expect(outside(`const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');`)).toEqual([]);
    expect(outside(`import { createTeam } from '../support/fixtures.js';`)).toEqual([]);
    expect(outside(`const CHROMIUM = '/usr/bin/chromium'; fetch(url + '/graphql');`)).toEqual([]);
  });

  it('no source of src/, tests/, bench/ or the root configuration names a path outside the repository', () => {
    const files = [
      ...sourceFiles(root, ['src', 'tests', 'bench']),
      ...['vitest.config.ts', 'drizzle.config.ts', 'eslint.config.js'].map((name) => path.join(root, name)),
    ];
    expect(files.length).toBeGreaterThan(50);
    // This test and its helper show such paths on purpose.
    const examples = new Set([path.join('tests', 'repository.test.ts'), path.join('tests', 'support', 'outside-paths.ts')]);
    const found = outsidePathsIn(root, files).filter((f) => !examples.has(f.file));
    expect(found.map((f) => `${f.file}:${f.line} ${f.literal} → ${f.resolved}`)).toEqual([]);
  });

  it('recognises paths in Markdown that lead outside the repository, and leaves URLs and placeholders alone', () => {
    const readme = path.join(root, 'README.md');
    const outside = (line: string) => findOutsidePathsInMarkdown(root, readme, line).map((found) => found.literal);
    expect(outside('Architecture notes: `../beside/ARCHITECTURE.md`.')).toEqual(['../beside/ARCHITECTURE.md']);
    expect(outside('See [the notes](../beside/notes.md).')).toEqual(['../beside/notes.md']);
    const beside = path.join(path.dirname(root), 'beside/notes.md');
    expect(outside(`kept in ${beside}`)).toEqual([beside]);
    const machineFolder = `/${root.split(path.sep)[1]}/elsewhere/notes.md`;
    expect(outside(`read ${machineFolder} first`)).toEqual([machineFolder]);

    expect(outside('Open <http://localhost:4000/graphql> or `/support/customer-care`, `GET /attachments/<id>`.')).toEqual([]);
    expect(outside('embedded database in /home/you/intake/.intake; Chromium at `/usr/bin/chromium`')).toEqual([]);
    expect(outside('[the plan](docs/ARCHITECTURE.md), `./.intake`, `tests/.tmp`, `src/db/keyset.ts`')).toEqual([]);
  });

  it('README.md and docs/ name no path outside the repository', () => {
    const docs = readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => path.join(root, 'docs', name));
    const files = [path.join(root, 'README.md'), ...docs];
    expect(docs.length).toBeGreaterThan(0);
    const found = files.flatMap((file) => findOutsidePathsInMarkdown(root, file, readFileSync(file, 'utf8')));
    expect(found.map((f) => `${f.file}:${f.line} ${f.literal} → ${f.resolved}`)).toEqual([]);
  });
});

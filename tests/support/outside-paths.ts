import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Absolute places a test or the code may name: system binaries and libraries (Chromium), the
 * temporary folder, devices. Anything else at the top of the file system (/work, /home, /srv …)
 * belongs to one machine, and a fresh clone elsewhere would not find it.
 */
const SYSTEM_TOP_FOLDERS = new Set(['usr', 'bin', 'lib', 'lib64', 'opt', 'etc', 'tmp', 'var', 'dev', 'proc', 'sys', 'run']);

export interface OutsidePath {
  file: string;
  line: number;
  literal: string;
  /** Where the literal leads, outside the repository. */
  resolved: string;
}

const STRING_LITERAL = /'([^'\\\n]*(?:\\.[^'\\\n]*)*)'|"([^"\\\n]*(?:\\.[^"\\\n]*)*)"|`([^`\\]*(?:\\.[^`\\]*)*)`/g;

/**
 * String literals of one source file that lead outside the repository root:
 * - a relative path that climbs out from the file's own folder (`'../../../beside'`);
 * - a relative path joined onto the repository root that climbs out (`path.resolve(root, '../beside')`,
 *   `` `${root}/../beside` ``);
 * - an absolute path beside the repository, or into a folder of this machine rather than of the
 *   system (`'/srv/elsewhere/x'`).
 * URL paths such as '/graphql' are not files: their first folder does not exist at the top of the disk.
 */
export function findOutsidePaths(root: string, file: string, source: string): OutsidePath[] {
  const found: OutsidePath[] = [];
  const inside = (target: string) => target === root || target.startsWith(root + path.sep);
  source.split('\n').forEach((text, index) => {
    for (const match of text.matchAll(STRING_LITERAL)) {
      const literal = match[1] ?? match[2] ?? match[3] ?? '';
      const before = text.slice(0, match.index);
      const report = (resolved: string) => found.push({ file: path.relative(root, file), line: index + 1, literal, resolved });
      const rooted = /^\$\{\s*root\s*\}\//.exec(literal);
      const relative = rooted ? literal.slice(rooted[0].length) : literal;
      if (/(^|\/)\.\.(\/|$)/.test(relative) && /^[\w./-]+$/.test(relative)) {
        const fromFile = path.resolve(path.dirname(file), relative);
        const fromRoot = path.resolve(root, relative);
        if (!rooted && !inside(fromFile)) report(fromFile);
        else if ((rooted || /\broot\s*[,+]\s*$/.test(before)) && !inside(fromRoot)) report(fromRoot);
        continue;
      }
      const absolute = /^\/([\w.-]+)(\/[\w./-]*)?$/.exec(literal);
      if (!absolute || inside(literal)) continue;
      const besideRepository = literal.startsWith(path.dirname(root) + path.sep);
      if (besideRepository || (!SYSTEM_TOP_FOLDERS.has(absolute[1]!) && existsSync(`/${absolute[1]}`))) report(literal);
    }
  });
  return found;
}

/** Every TypeScript and JavaScript source under the given folders of the repository. */
export function sourceFiles(root: string, folders: string[]): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      if (name === 'node_modules' || name.startsWith('.')) return [];
      if (statSync(full).isDirectory()) return walk(full);
      return /\.(ts|js|mjs|cjs)$/.test(name) ? [full] : [];
    });
  return folders.flatMap((folder) => (existsSync(path.join(root, folder)) ? walk(path.join(root, folder)) : []));
}

/**
 * Paths in a Markdown text (README.md, docs/) that lead outside the repository: a relative path
 * that climbs out of the file's folder (`../beside/notes.md`, in a code span or a link), or an
 * absolute path on this machine outside the repository (one beside it, or in a folder of the
 * machine the repository sits in, such as `/srv/beside/notes.md` for a checkout under /srv).
 * URL paths (`/graphql`, `http://localhost:4000/support`) and placeholders of another machine
 * (`/home/you/intake`) are not: the first has no folder at the top of the disk, the second none here.
 */
export function findOutsidePathsInMarkdown(root: string, file: string, text: string): OutsidePath[] {
  const found: OutsidePath[] = [];
  const inside = (target: string) => target === root || target.startsWith(root + path.sep);
  const rootTop = root.split(path.sep)[1];
  text.split('\n').forEach((line, index) => {
    // A path starts a word: not inside a URL (after ':' or a host name) nor inside another path.
    for (const match of line.matchAll(/(?<![\w:/.~@-])((?:\.\.\/)+[\w./-]*|\/[\w.-]+(?:\/[\w.-]+)*\/?)/g)) {
      const literal = match[1]!;
      const report = (resolved: string) => found.push({ file: path.relative(root, file), line: index + 1, literal, resolved });
      if (literal.startsWith('../')) {
        const resolved = path.resolve(path.dirname(file), literal);
        if (!inside(resolved)) report(resolved);
        continue;
      }
      if (inside(literal)) continue;
      const [top, second] = literal.split('/').slice(1);
      if (literal.startsWith(path.dirname(root) + path.sep)) report(literal);
      // The repository's own top folder counts even when it is a system one (a clone in /tmp).
      else if (top && (top === rootTop || (!SYSTEM_TOP_FOLDERS.has(top) && existsSync(`/${top}`) && second !== undefined && existsSync(`/${top}/${second}`)))) report(literal);
    }
  });
  return found;
}

export function outsidePathsIn(root: string, files: string[]): OutsidePath[] {
  return files.flatMap((file) => findOutsidePaths(root, file, readFileSync(file, 'utf8')));
}

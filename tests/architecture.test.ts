import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The boundaries of src/, read from its import graph (the TypeScript scanner, so type-only,
 * re-exports and dynamic imports count too):
 * 1. A capability's core (its service and everything but its GraphQL and HTTP files) imports
 *    no GraphQL or HTTP code: the same service serves GraphQL, SMTP, HTTP pages and the CLI.
 * 2. A capability reads another capability's tables through that capability's service, never
 *    its `tables.ts`. Only a `tables.ts` may import another's: a foreign key needs the table.
 * 3. Capability folders do not import each other in a cycle, and inside a capability no file
 *    imports itself back through others: a cycle hides which part is the lower layer.
 * Today's breaches are listed below, each with its reason. The list may only shrink: an entry
 * that no longer matches an import fails the test too, so it is removed with the fix.
 */

const CAPABILITIES = ['teams', 'tickets', 'customers', 'mail', 'webform', 'sla', 'livechat', 'chatbot', 'auth', 'outbound'];
const SHARED = ['db', 'events', 'text', 'graphql', 'http', 'smtp', 'observability'];

interface TableException {
  from: string;
  to: string;
  why: string;
}
interface CycleException {
  /** Capability folders: the edge from → to is left out when looking for cycles. */
  from: string;
  to: string;
  why: string;
}

const TABLE_EXCEPTIONS: TableException[] = [];

const CYCLE_EXCEPTIONS: CycleException[] = [];

type ImportGraph = Map<string, string[]>;

/** Packages and folders that are GraphQL or HTTP code. */
function isApiPackage(specifier: string): boolean {
  return /^(graphql|graphql-yoga|graphql-ws|ws|http|https|node:http|node:https|node:http2|http2)(\/|$)|^@(pothos|graphql-yoga|envelop)\//.test(specifier);
}

function capabilityOf(file: string): string | null {
  const [top, folder] = file.split('/');
  return top === 'src' && folder && CAPABILITIES.includes(folder) && file.split('/').length >= 3 ? folder : null;
}

/** A capability's GraphQL or HTTP side, and the module that composes its parts, may import API code. */
function isApiFile(file: string): boolean {
  if (file.startsWith('src/graphql/') || file.startsWith('src/http/')) return true;
  if (!capabilityOf(file)) return false;
  const inside = file.split('/').slice(2);
  const name = path.posix.basename(file, '.ts');
  return inside.slice(0, -1).some((dir) => /^(graphql|http|routes)$/.test(dir)) || /graphql|http|routes/i.test(name) || ['module', 'register', 'index'].includes(name);
}

function importsApi(target: string): boolean {
  return target.startsWith('src/') ? isApiFile(target) : isApiPackage(target);
}

/** Strongly connected components with more than one member (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** Import cycles among the files of one capability. */
function fileCyclesInsideCapabilities(graph: ImportGraph): string[] {
  const edges = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const capability = capabilityOf(file);
    if (!capability) continue;
    edges.set(file, new Set(targets.filter((target) => target !== file && capabilityOf(target) === capability)));
  }
  return cycles(edges).map((cycle) => `files of a capability import each other in a cycle: ${cycle.join(', ')}`);
}

/** Every breach of the three rules in `graph`, and every exception that excuses nothing. */
function checkBoundaries(graph: ImportGraph, tableExceptions: TableException[], cycleExceptions: CycleException[]): string[] {
  const problems: string[] = [];
  const usedTableExceptions = new Set<TableException>();
  const folderEdges = new Map<string, Set<string>>();
  const edgeWitness = new Map<string, string>();
  for (const [file, targets] of graph) {
    const capability = capabilityOf(file);
    if (!capability) continue;
    for (const target of targets) {
      if (!isApiFile(file) && importsApi(target)) problems.push(`core imports API code: ${file} imports ${target}`);
      const other = capabilityOf(target);
      if (!other || other === capability) continue;
      if (!folderEdges.has(capability)) folderEdges.set(capability, new Set());
      folderEdges.get(capability)!.add(other);
      edgeWitness.set(`${capability}>${other}`, `${file} imports ${target}`);
      if (path.posix.basename(target) !== 'tables.ts' || path.posix.basename(file) === 'tables.ts') continue;
      const exception = tableExceptions.find((e) => e.from === file && e.to === target);
      if (exception) usedTableExceptions.add(exception);
      else problems.push(`imports another capability's tables: ${file} imports ${target}`);
    }
  }
  for (const e of tableExceptions) if (!usedTableExceptions.has(e)) problems.push(`stale exception, remove it: ${e.from} no longer imports ${e.to}`);

  const allCycles = cycles(folderEdges);
  for (const e of cycleExceptions) {
    const inCycle = allCycles.some((c) => c.includes(e.from) && c.includes(e.to)) && folderEdges.get(e.from)?.has(e.to);
    if (!inCycle) problems.push(`stale exception, remove it: ${e.from} → ${e.to} is not part of a cycle`);
  }
  problems.push(...fileCyclesInsideCapabilities(graph));
  const allowed = new Map([...folderEdges].map(([from, to]) => [from, new Set([...to].filter((t) => !cycleExceptions.some((e) => e.from === from && e.to === t)))]));
  for (const cycle of cycles(allowed)) {
    const edges = cycle.flatMap((from) => [...(allowed.get(from) ?? [])].filter((to) => cycle.includes(to)).map((to) => `${from} → ${to} (${edgeWitness.get(`${from}>${to}`)})`));
    problems.push(`capabilities import each other in a cycle: ${edges.join('; ')}`);
  }
  return problems;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

/** A specifier as the graph names it: a path from the project root for our files, else the package. */
function resolveSpecifier(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const candidates = [joined.replace(/\.js$/, '.ts'), `${joined}.ts`, `${joined}/index.ts`];
  return candidates.find((c) => existsSync(path.join(root, c))) ?? joined;
}

function importGraphOfSrc(): ImportGraph {
  return new Map(
    sourceFiles('src').map((file) => {
      const { importedFiles } = ts.preProcessFile(readFileSync(path.join(root, file), 'utf8'), true, true);
      return [file, importedFiles.map((i) => resolveSpecifier(file, i.fileName))];
    }),
  );
}

describe('boundaries of src/', () => {
  const graph = importGraphOfSrc();

  it('reads the import graph (a parse that finds nothing would pass every rule)', () => {
    expect(graph.get('src/tickets/service.ts')).toEqual(expect.arrayContaining(['drizzle-orm', 'src/tickets/tables.ts', 'src/db/client.ts']));
    expect(graph.get('src/graphql/builder.ts')).toEqual(expect.arrayContaining(['@pothos/core', 'graphql']));
  });

  it('knows every folder of src/ as a capability or as shared code', () => {
    const folders = readdirSync(path.join(root, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((f) => !CAPABILITIES.includes(f) && !SHARED.includes(f))).toEqual([]);
  });

  it('keeps services free of GraphQL and HTTP, tables behind their services, and capabilities out of cycles', () => {
    expect(checkBoundaries(graph, TABLE_EXCEPTIONS, CYCLE_EXCEPTIONS)).toEqual([]);
  });

  it('gives every capability with an API one module, listed in src/modules.ts, and composes modules only there', () => {
    const capabilities = [...new Set([...graph.keys()].map(capabilityOf).filter((c): c is string => c !== null))];
    const withApi = capabilities.filter((c) => graph.has(`src/${c}/graphql.ts`) || graph.has(`src/${c}/routes.ts`));
    expect(withApi.filter((c) => !graph.has(`src/${c}/module.ts`))).toEqual([]);
    const modules = [...graph.keys()].filter((file) => capabilityOf(file) && path.posix.basename(file) === 'module.ts');
    expect(modules.filter((m) => !graph.get('src/modules.ts')!.includes(m))).toEqual([]);
    // A module declares its own parts; which modules run together is the app's choice.
    const composers = [...graph].filter(([file, targets]) => file !== 'src/modules.ts' && targets.some((t) => modules.includes(t))).map(([file]) => file);
    expect(composers).toEqual([]);
  });
});

describe('the boundary checker, on made-up graphs (each rule can fail)', () => {
  const clean: ImportGraph = new Map([
    ['src/teams/service.ts', ['drizzle-orm', 'src/teams/tables.ts', 'src/db/client.ts']],
    ['src/teams/graphql.ts', ['src/graphql/builder.ts', 'src/teams/service.ts', 'graphql']],
    ['src/tickets/service.ts', ['src/teams/service.ts', 'src/tickets/tables.ts', 'src/events/hub.ts']],
    ['src/tickets/tables.ts', ['drizzle-orm/pg-core', 'src/teams/tables.ts']],
    ['src/tickets/module.ts', ['src/tickets/graphql.ts', 'node:http']],
  ]);
  const withImport = (file: string, target: string): ImportGraph => new Map([...clean, [file, [...(clean.get(file) ?? []), target]]]);

  it('passes a graph that keeps the rules, foreign keys between tables included', () => {
    expect(checkBoundaries(clean, [], [])).toEqual([]);
  });

  it('fails a service that imports GraphQL or HTTP code, a package or a folder', () => {
    expect(checkBoundaries(withImport('src/tickets/service.ts', 'graphql'), [], [])).toEqual(['core imports API code: src/tickets/service.ts imports graphql']);
    expect(checkBoundaries(withImport('src/tickets/service.ts', '@pothos/core'), [], [])).toHaveLength(1);
    expect(checkBoundaries(withImport('src/tickets/service.ts', 'graphql-yoga'), [], [])).toHaveLength(1);
    expect(checkBoundaries(withImport('src/sla/policy.ts', 'src/graphql/user-errors.ts'), [], [])).toEqual(['core imports API code: src/sla/policy.ts imports src/graphql/user-errors.ts']);
    expect(checkBoundaries(withImport('src/mail/queue.ts', 'src/http/server.ts'), [], [])).toHaveLength(1);
    expect(checkBoundaries(withImport('src/tickets/service.ts', 'node:http'), [], [])).toHaveLength(1);
    expect(checkBoundaries(withImport('src/tickets/service.ts', 'src/teams/graphql.ts'), [], [])).toHaveLength(1);
  });

  it("fails a capability that imports another's tables.ts, unless listed; a listed one that is fixed fails as stale", () => {
    const breach = withImport('src/tickets/service.ts', 'src/teams/tables.ts');
    expect(checkBoundaries(breach, [], [])).toEqual(["imports another capability's tables: src/tickets/service.ts imports src/teams/tables.ts"]);
    const listed = { from: 'src/tickets/service.ts', to: 'src/teams/tables.ts', why: 'test' };
    expect(checkBoundaries(breach, [listed], [])).toEqual([]);
    expect(checkBoundaries(clean, [listed], [])).toEqual(['stale exception, remove it: src/tickets/service.ts no longer imports src/teams/tables.ts']);
  });

  it('fails files of one capability that import each other in a cycle', () => {
    const cycle = withImport('src/teams/tables.ts', 'src/teams/service.ts');
    expect(checkBoundaries(cycle, [], [])).toEqual(['files of a capability import each other in a cycle: src/teams/service.ts, src/teams/tables.ts']);
  });

  it('fails capabilities that import each other in a cycle, through any of their files', () => {
    const cycle = withImport('src/teams/service.ts', 'src/tickets/email-address.ts');
    expect(checkBoundaries(cycle, [], [])).toEqual([
      'capabilities import each other in a cycle: teams → tickets (src/teams/service.ts imports src/tickets/email-address.ts); tickets → teams (src/tickets/tables.ts imports src/teams/tables.ts)',
    ]);
    const threeWay: ImportGraph = new Map([
      ['src/auth/service.ts', ['src/mail/queue.ts']],
      ['src/mail/queue.ts', ['src/sla/service.ts']],
      ['src/sla/service.ts', ['src/auth/service.ts']],
    ]);
    expect(checkBoundaries(threeWay, [], [])).toEqual([expect.stringMatching(/^capabilities import each other in a cycle: auth → mail .*; mail → sla .*; sla → auth /)]);
    const listed = { from: 'teams', to: 'tickets', why: 'test' };
    expect(checkBoundaries(cycle, [], [listed])).toEqual([]);
    expect(checkBoundaries(clean, [], [listed])).toEqual(['stale exception, remove it: teams → tickets is not part of a cycle']);
  });
});

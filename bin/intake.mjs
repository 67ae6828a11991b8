// `npm start`: runs src/main.ts from one bundle of src/ and the packages it uses, made by esbuild,
// kept in node_modules/.cache/intake/ and made again whenever a source file, this file or the
// installed packages change. Loading ~60 modules one by one through tsx's loader hooks took about
// half of the time to healthy; node's loader then spent a quarter of the rest finding, reading and
// parsing the packages' files (about a thousand) one by one. The bundle loads as one file. Outside
// it stay PGlite, which finds its WebAssembly and data files beside its own module, and GraphiQL's
// page (9 MB of strings), which src/http/graphiql.ts loads on the first visit only.
// First: on a Node older than the minimum this exits with one line before anything else loads.
import './node-version.mjs';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

// graphql-js checks every value against its classes unless told it runs in production; it reads
// this when it loads, and the bundle loads its packages before main.ts's own first line runs.
process.env.NODE_ENV ??= 'production';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const cache = path.join(root, 'node_modules/.cache/intake');

function typescriptFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typescriptFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const digest = createHash('sha256');
for (const file of typescriptFiles(src).sort()) digest.update(path.relative(src, file)).update('\0').update(readFileSync(file)).update('\0');
// npm rewrites this file on every install: a changed package makes a new bundle.
digest.update(fileURLToPath(import.meta.url)).update(readFileSync(fileURLToPath(import.meta.url))).update(String(statSync(path.join(root, 'node_modules/.package-lock.json'), { throwIfNoEntry: false })?.mtimeMs));
// The driver file our postinstall patches: re-running the patch by hand also makes a new bundle.
digest.update(readFileSync(path.join(root, 'node_modules/postgres/src/connection.js')));
const bundle = path.join(cache, `main-${digest.digest('hex').slice(0, 16)}.mjs`);

if (!existsSync(bundle)) {
  const { build } = await import('esbuild');
  mkdirSync(cache, { recursive: true });
  // Written aside and renamed: two servers starting at once never load half a file.
  const written = `${bundle}.${process.pid}.tmp.mjs`;
  await build({
    entryPoints: [path.join(src, 'main.ts')],
    outfile: written,
    bundle: true,
    // OpenTelemetry loads only when tracing is on (src/observability/tracing.ts): outside the bundle, it costs nothing otherwise.
    external: ['@electric-sql/pglite', '@graphql-yoga/render-graphiql', 'esbuild', '@opentelemetry/*'],
    // The packages written as CommonJS that require node's own modules find `require` here.
    banner: { js: "import { createRequire as __intakeRequire } from 'node:module'; const require = __intakeRequire(import.meta.url);" },
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'error',
    plugins: [keepFileUrls()],
  });
  // Bundles of earlier sources go; this one may already be there, renamed by a server starting beside us.
  for (const old of readdirSync(cache)) if (/^main-[0-9a-f]{16}\.mjs$/.test(old) && old !== path.basename(bundle)) rmSync(path.join(cache, old), { force: true });
  renameSync(written, bundle);
}

// Node 22.1+ keeps V8's compiled code of the bundle between starts; older ones go without.
module.enableCompileCache?.(path.join(cache, 'compile'));
await import(pathToFileURL(bundle).href);

/** Each module keeps its own import.meta.url, so paths it finds from its own place stay right. */
function keepFileUrls() {
  return {
    name: 'keep-file-urls',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => ({
        contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: 'ts',
      }));
    },
  };
}

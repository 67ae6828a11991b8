// The oldest Node this server runs on, checked on import, before anything else loads (bin/intake.mjs
// and src/main.ts import this first): on an older Node the operator gets one line saying what to
// do instead of a stack trace from deep inside a package. Plain JavaScript importing nothing but
// node:process, so even a Node far too old runs it. Keep it equal to package.json's engines.node
// (a test checks).
import process from 'node:process';

export const MINIMUM_NODE = '22.15.0';

/** Whether `version` (e.g. "20.20.2") is at least `minimum`. */
export function isSupportedNode(version, minimum = MINIMUM_NODE) {
  const have = version.replace(/^v/, '').split('.').map(Number);
  const need = minimum.split('.').map(Number);
  for (let i = 0; i < need.length; i++) if ((have[i] ?? 0) !== need[i]) return (have[i] ?? 0) > need[i];
  return true;
}

/** Exits with one line on stderr when the running Node is older than the minimum. */
export function refuseUnsupportedNode() {
  if (isSupportedNode(process.versions.node)) return;
  process.stderr.write(
    `Intake needs Node.js ${MINIMUM_NODE} or newer, and this is Node.js ${process.version}: run it through \`npm start\` after a full \`npm install\` (which brings the pinned Node 24), or install Node 24 LTS (\`nvm install\` reads .nvmrc).\n`,
  );
  process.exit(1);
}

refuseUnsupportedNode();

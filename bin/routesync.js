#!/usr/bin/env node
// routesync's sources are TypeScript run by Node's built-in type stripping (Node >= 24), so there is no
// build step; an older Node gets one clear line instead of a syntax error deep in an import.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `routesync: needs Node.js 24 or newer, this is ${process.version}; run it through npm (npx routesync, npm start), which uses the pinned Node from node_modules\n`,
  );
  process.exit(2);
}
await import('../src/cli.ts');

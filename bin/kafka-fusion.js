#!/usr/bin/env node
// The kafka-fusion command: the built CLI (dist/), or in a source checkout
// without a build, the TypeScript through tsx (a devDependency).
const path = require('node:path');
const fs = require('node:fs');

const built = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (fs.existsSync(built)) {
  require(built)
    .run(process.argv.slice(2))
    .then((code) => process.exit(code));
} else {
  const source = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
  const r = require('node:child_process').spawnSync(process.execPath, ['--import', 'tsx', source, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

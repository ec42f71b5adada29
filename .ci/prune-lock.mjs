// The npm registry these machines reach serves only the platform packages of this machine's kind,
// so `npm install` records other platforms' optional binaries (biome, duckdb) in the lock without
// an entry of their own, and `npm ci` then refuses the lock. This drops those dangling optional
// references; it runs after every install (package.json "postinstall") and changes nothing else.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const text = readFileSync(file, 'utf8');
const lock = JSON.parse(text);
const present = new Set(Object.keys(lock.packages).map((path) => path.replace(/^.*node_modules\//, '')));
for (const entry of Object.values(lock.packages)) {
  if (!entry.optionalDependencies) continue;
  for (const name of Object.keys(entry.optionalDependencies)) {
    if (!present.has(name)) delete entry.optionalDependencies[name];
  }
}
const next = `${JSON.stringify(lock, null, 2)}\n`;
if (next !== text) writeFileSync(file, next);

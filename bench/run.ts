/**
 * `npm run bench [-- name...]`: runs the benchmarks (all by default) one after the other and prints
 * one table of their headline figures. Figures are measured side by side within each benchmark;
 * compare ratios, not absolute times — these machines are shared.
 */
import { cpus, loadavg, totalmem } from 'node:os';

const BENCHES: Record<string, { module: string; run: string }> = {
  ingest: { module: './ingest.js', run: 'benchIngest' },
  rfm: { module: './rfm.js', run: 'benchRfm' },
  posting: { module: './posting.js', run: 'benchPosting' },
  funnel: { module: './funnel.js', run: 'benchFunnel' },
  bundles: { module: './bundles.js', run: 'benchBundles' },
  load: { module: './load.js', run: 'benchLoad' },
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((name) => !BENCHES[name]);
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const names = wanted.length ? wanted : Object.keys(BENCHES);
const summary: { bench: string; figure: string; value: unknown }[] = [];
const started = new Date();

for (const name of names) {
  const spec = BENCHES[name]!;
  console.log(`\n=== ${name} ===`);
  const module = (await import(spec.module)) as Record<string, () => Promise<Record<string, unknown>>>;
  const result = await module[spec.run]!();
  for (const [figure, value] of Object.entries(result)) {
    if (value === null || typeof value !== 'object') summary.push({ bench: name, figure, value });
  }
}

const machine = `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}/${process.arch}, node ${process.version}`;
console.log(
  `\n=== summary: npm run bench${wanted.length ? ` -- ${wanted.join(' ')}` : ''} (${started.toISOString()} to ${new Date().toISOString()}; ${machine}; load average at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}) ===`,
);
console.table(summary);
process.exit(0);

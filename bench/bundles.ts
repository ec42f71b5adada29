import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUNDLE } from '../infra/bundling.js';
import { functions } from '../shared/app/declaration.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = 10;

/** Cold import of a bundle in a fresh Node process, ms (the process start itself is not counted). */
function coldImportMs(file: string): number {
  const script = `const t = process.hrtime.bigint(); await import(${JSON.stringify(file)}); console.log(Number(process.hrtime.bigint() - t) / 1e6);`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      TABLE_NAME: 'bench',
      EVENT_BUS_NAME: 'bench',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`import of ${file} failed: ${out.stderr}`);
  return Number(out.stdout.trim().split('\n').pop());
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Each function bundled as for deployment (the construct's esbuild settings), its size, and the
 * median cold import time of the bundle over 10 fresh processes, against a bare handler that only
 * creates the DynamoDB and EventBridge clients. Runs are interleaved so load hits all alike.
 */
export async function benchBundles(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'siyu-bundles-'));
  try {
    const entries: [string, string][] = [
      ['(baseline)', 'bench/baseline-handler.ts'],
      ...Object.entries(functions).map(([name, fn]) => [name, fn.entry] as [string, string]),
    ];
    const files = new Map<string, string>();
    for (const [name, entry] of entries) {
      const outfile = join(dir, `${name.replace(/[()]/g, '')}.mjs`);
      await build({
        entryPoints: [resolve(ROOT, entry)],
        bundle: true,
        platform: 'node',
        target: `node${process.versions.node.split('.')[0]}`,
        format: BUNDLE.format,
        mainFields: [...BUNDLE.mainFields],
        banner: { js: BUNDLE.banner },
        minify: BUNDLE.minify,
        outfile,
        logLevel: 'error',
      });
      files.set(name, outfile);
    }
    const times = new Map<string, number[]>(entries.map(([name]) => [name, []]));
    for (let run = 0; run < RUNS; run++) {
      for (const [name] of entries) times.get(name)!.push(coldImportMs(files.get(name)!));
    }
    const baseline = median(times.get('(baseline)')!);
    const rows = entries.map(([name]) => {
      const ms = median(times.get(name)!);
      return {
        function: name,
        kb: Math.round(statSync(files.get(name)!).size / 1024),
        coldImportMs: Number(ms.toFixed(1)),
        vsBaseline: Number((ms / baseline).toFixed(2)),
      };
    });
    console.table(rows);
    return {
      baselineMs: Number(baseline.toFixed(1)),
      worstRatio: Math.max(...rows.map((r) => r.vsBaseline)),
      rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchBundles();
}

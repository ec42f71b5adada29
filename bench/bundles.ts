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

interface ImportTime {
  /** Wall-clock ms of the import. */
  wall: number;
  /** CPU ms the process spent on the import (user + system): what other load on the machine moves least. */
  cpu: number;
}

/** Cold import of a bundle in a fresh Node process (the process start itself is not counted). */
function coldImport(file: string): ImportTime {
  const script = `const c = process.cpuUsage(); const t = process.hrtime.bigint(); await import(${JSON.stringify(file)}); const w = Number(process.hrtime.bigint() - t) / 1e6; const u = process.cpuUsage(c); console.log(JSON.stringify({ wall: w, cpu: (u.user + u.system) / 1000 }));`;
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
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as ImportTime;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Each function bundled as for deployment (the construct's esbuild settings), its size, and the
 * median cold import time of the bundle over 10 fresh processes — wall clock and the CPU time the
 * import took — against a bare handler that only creates the DynamoDB and EventBridge clients.
 * Runs are interleaved so load hits all alike; on a loaded machine the CPU time is the steadier.
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
    const times = new Map<string, ImportTime[]>(entries.map(([name]) => [name, []]));
    for (let run = 0; run < RUNS; run++) {
      for (const [name] of entries) times.get(name)!.push(coldImport(files.get(name)!));
    }
    const medianOf = (name: string, kind: keyof ImportTime) => median(times.get(name)!.map((t) => t[kind]));
    const baseline = { wall: medianOf('(baseline)', 'wall'), cpu: medianOf('(baseline)', 'cpu') };
    const rows = entries.map(([name]) => {
      const wall = medianOf(name, 'wall');
      const cpu = medianOf(name, 'cpu');
      return {
        function: name,
        kb: Math.round(statSync(files.get(name)!).size / 1024),
        coldImportMs: Number(wall.toFixed(1)),
        vsBaseline: Number((wall / baseline.wall).toFixed(2)),
        cpuMs: Number(cpu.toFixed(1)),
        cpuVsBaseline: Number((cpu / baseline.cpu).toFixed(2)),
      };
    });
    console.table(rows);
    return {
      baselineMs: Number(baseline.wall.toFixed(1)),
      worstRatio: Math.max(...rows.map((r) => r.vsBaseline)),
      baselineCpuMs: Number(baseline.cpu.toFixed(1)),
      worstCpuRatio: Math.max(...rows.map((r) => r.cpuVsBaseline)),
      rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchBundles();
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../infra/local/stack.js';
import { defaultSettings } from '../../shared/schemas/settings.js';
import { request } from '../support/local-stack.js';
import { adminToken } from '../support/tokens.js';

// The crash fails every request in flight by design; their error logs would only be noise.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.SIYU_LOCAL_LOG = 'silent';

const dataDir = mkdtempSync(join(tmpdir(), 'siyu-restart-'));
const stacks: LocalStack[] = [];

afterAll(async () => {
  for (const stack of stacks) await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local stack on disk', () => {
  it('committed data survives a killed stack', async () => {
    // Prepare
    const options = { port: 0, dataDir, schedules: false, tableName: 'siyu-restart' };
    const first = await startLocalStack(options);
    stacks.push(first);

    const tenants = Array.from({ length: 60 }, (_, i) => ({ id: `tenant-${i}`, windowDays: 100 + i }));
    const tokens = new Map(
      await Promise.all(tenants.map(async (t) => [t.id, await adminToken(t.id)] as const)),
    );
    const acknowledged = new Map<string, number>();
    const queue = [...tenants];
    let killed = false;

    // Act: 10 writers at a time; DynamoDB Local is killed (SIGKILL) once a third of the writes are
    // acknowledged, while the others are in flight.
    const writer = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const res = await request(first.url, 'PUT', '/v1/settings', {
          token: tokens.get(next.id)!,
          body: { rfm: { windowDays: next.windowDays } },
        }).catch(() => undefined);
        if (res && res.status >= 200 && res.status < 300) acknowledged.set(next.id, next.windowDays);
        if (!killed && acknowledged.size >= tenants.length / 3) {
          killed = true;
          process.kill(first.dynamoPid!, 'SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, writer));
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(tenants.length / 3);
    expect(acknowledged.size).toBeLessThan(tenants.length);
    await first.stop();

    // Assess
    const second = await startLocalStack(options);
    stacks.push(second);
    const read = async (tenant: (typeof tenants)[number]) => {
      const res = await request<typeof defaultSettings>(second.url, 'GET', '/v1/settings', {
        token: tokens.get(tenant.id)!,
      });
      return { tenant, res };
    };
    for (let i = 0; i < tenants.length; i += 10) {
      for (const { tenant, res } of await Promise.all(tenants.slice(i, i + 10).map(read))) {
        expect(res.status).toBe(200);
        const expected = acknowledged.get(tenant.id);
        if (expected !== undefined) {
          expect(res.body.rfm.windowDays, tenant.id).toBe(expected);
        } else {
          // Not acknowledged: either never written or committed before the crash, nothing else.
          expect([defaultSettings.rfm.windowDays, tenant.windowDays]).toContain(res.body.rfm.windowDays);
        }
      }
    }
  });
});

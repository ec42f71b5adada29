import { expect } from 'vitest';
import type { TestResponse, TestStack } from './local-stack.js';
import { adminToken, staffToken } from './tokens.js';

/** A tenant's admin and helpers for a scripted history through the real HTTP API. */
export async function tenantSession(stack: TestStack, tenant: string) {
  const admin = await adminToken(tenant);
  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token = admin,
    headers?: Record<string, string>,
  ): Promise<TestResponse<T>> =>
    stack.request<T>(method, path, {
      token,
      ...(body !== undefined ? { body } : {}),
      ...(headers ? { headers } : {}),
    });
  const ok = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token = admin,
  ) => {
    const res = await call<T>(method, path, body, token);
    expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
    return res.body;
  };
  const staff = async (id: string, name = id) => {
    await ok('POST', '/v1/staff', { id, name });
    return staffToken(tenant, id);
  };
  /** Waits for a job to finish (the worker runs it from its JobQueued event). */
  const job = async (jobId: string, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const res = await call<{ status: string; result?: Record<string, number> }>('GET', `/v1/jobs/${jobId}`);
      if (res.body.status === 'succeeded' || res.body.status === 'failed') return res.body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${jobId} did not finish`);
  };
  return { tenant, admin, call, ok, staff, job };
}

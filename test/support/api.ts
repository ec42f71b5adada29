import { expect } from 'vitest';
import type { TestResponse, TestStack } from './local-stack.js';
import { adminToken, staffToken } from './tokens.js';

export interface ContactImportResult {
  index: number;
  id?: string;
  status: 'created' | 'exists' | 'error';
  error?: string;
}

/** How often a client sends a request again that was answered 503. */
const RETRIES_AFTER_503 = 30;

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
  /**
   * `call`, sent again as API.md tells clients to: after a 503 (after its `Retry-After`) — a loaded
   * machine may turn any request away for a moment, and a batch that ran out of time answers 503
   * after its finished items, which the next attempt reports as already there — and, for a request
   * with an `Idempotency-Key`, after a 504 (its outcome unknown: the key makes the resend safe) or
   * a 409 saying the first attempt with that key is still running.
   */
  const send = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token = admin,
    headers?: Record<string, string>,
  ): Promise<TestResponse<T>> => {
    const keyed = Object.keys(headers ?? {}).some((h) => h.toLowerCase() === 'idempotency-key');
    for (let attempt = 1; ; attempt++) {
      const res = await call<T>(method, path, body, token, headers);
      const keyStillRunning =
        res.status === 409 &&
        /\/problems\/request-in-progress$/.test(String((res.body as { type?: unknown } | undefined)?.type));
      const resend = res.status === 503 || (keyed && (res.status === 504 || keyStillRunning));
      if (!resend || attempt >= RETRIES_AFTER_503) return res;
      const seconds = Number(res.headers.get('retry-after') ?? 1);
      expect(seconds, `${res.status} without Retry-After: ${res.text}`).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, seconds * 1000));
    }
  };
  const ok = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token = admin,
  ) => {
    const res = await send<T>(method, path, body, token);
    expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
    return res.body;
  };
  /**
   * Bulk import as a careful client does it: a 503 is resent (`ok`), and contacts answered busy —
   * `error` with the id they were given — are resent with that id until each has its answer.
   */
  const importContacts = async (contacts: Record<string, unknown>[], token = admin) => {
    const results: ContactImportResult[] = new Array(contacts.length);
    const busy = (r: ContactImportResult | undefined) => !r || (r.status === 'error' && r.id !== undefined);
    for (let round = 1; contacts.some((_, i) => busy(results[i])); round++) {
      expect(round, 'contacts still busy').toBeLessThanOrEqual(RETRIES_AFTER_503);
      const pending = contacts.map((_, i) => i).filter((i) => busy(results[i]));
      const out = await ok<{ results: ContactImportResult[] }>(
        'POST',
        '/v1/contacts/batch',
        { contacts: pending.map((i) => ({ ...contacts[i], ...(results[i] ? { id: results[i].id } : {}) })) },
        token,
      );
      out.results.forEach((r, k) => {
        results[pending[k]!] = { ...r, index: pending[k]! };
      });
    }
    return results;
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
  return { tenant, admin, call, send, ok, importContacts, staff, job };
}

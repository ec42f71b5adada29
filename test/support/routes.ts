/**
 * What the route-table suites (isolation, security, fuzzing) need to call every declared route:
 * which id kind a path parameter carries, and a valid body per route.
 */

/** The id kind of a path parameter, by the path segment before it. */
export const idKinds: Record<string, string> = {
  'staff/{id}': 'staff',
  'accounts/{id}': 'account',
  'contacts/{id}': 'contact',
  'tags/{tag}': 'tag',
  'shops/{id}': 'shop',
  'shops/{shopId}': 'shop',
  'orders/{orderId}': 'order',
  'jobs/{jobId}': 'job',
  'posts/{id}': 'post',
};

/** The route's path with each parameter replaced by `segmentFor(kind)` (already encoded). */
export function pathFor(routeKey: string, segmentFor: (kind: string) => string): string {
  const path = routeKey.split(' ')[1]!;
  return path.replace(/([a-z-]+)\/\{(\w+)\}/g, (match, segment: string) => {
    const kind = idKinds[`${segment}/${match.slice(segment.length + 1)}`];
    if (!kind) throw new Error(`${routeKey}: say which id kind {${segment}} carries in idKinds`);
    return `${segment}/${segmentFor(kind)}`;
  });
}

/**
 * A minimal valid body per route, so only what a test changes can make a request fail. `ids`
 * is read when a body is made (a suite fills it in `beforeAll`); `prefix` keeps the new ids of
 * one suite apart from another's; `heir` is the handover target.
 */
export function validBodies(
  ids: Record<string, string>,
  { prefix, heir }: { prefix: string; heir: () => string },
): Record<string, () => Record<string, unknown>> {
  return {
    'PUT /v1/settings': () => ({ rfm: { windowDays: 300 } }),
    'POST /v1/staff': () => ({ id: `${prefix}-new-staff`, name: 'New' }),
    'PATCH /v1/staff/{id}': () => ({ name: 'Renamed' }),
    'POST /v1/staff/{id}/handover': () => ({ toStaffId: heir() }),
    'POST /v1/accounts': () => ({ name: 'Acc', platform: 'wecom', operatorStaffId: ids.staff! }),
    'PATCH /v1/accounts/{id}': () => ({ name: 'Renamed' }),
    'POST /v1/contacts': () => ({ name: 'N', channel: 'store' }),
    'POST /v1/contacts/batch': () => ({ contacts: [{ name: 'N', channel: 'store' }] }),
    'PATCH /v1/contacts/{id}': () => ({ name: 'Renamed' }),
    'POST /v1/contacts/{id}/tags': () => ({ tags: ['x'] }),
    'POST /v1/orders/batch': () => ({
      orders: [
        {
          id: `${prefix}-o9`,
          total: '1.00',
          currency: 'CNY',
          paidAt: '2026-01-01T00:00:00Z',
          contact: { externalId: `${prefix}-9` },
        },
      ],
    }),
    'POST /v1/shops': () => ({ name: 'S', platform: 'generic' }),
    'PATCH /v1/shops/{id}': () => ({ name: 'Renamed' }),
    'POST /v1/shops/{id}/rotate-secret': () => ({}),
    'POST /v1/jobs/rfm': () => ({}),
    'PUT /v1/accounts/{id}/posting-plan': () => ({ dailyMin: 2 }),
    'POST /v1/posts': () => ({
      accountId: ids.account!,
      category: 'life',
      plannedAt: '2026-01-01T00:00:00Z',
    }),
    'PATCH /v1/posts/{id}': () => ({ likes: 3 }),
  };
}

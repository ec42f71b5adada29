/**
 * Every key of the single table, in one place (ARCHITECTURE.md has the catalogue).
 * Tenant ids and client ids never contain `#` (validated at the edge), so keys cannot collide.
 */
export const keys = {
  settings: (tenantId: string) => ({ pk: `T#${tenantId}`, sk: 'SETTINGS' }),
  staff: (tenantId: string, staffId: string) => ({ pk: `T#${tenantId}`, sk: `STAFF#${staffId}` }),
  account: (tenantId: string, accountId: string) => ({ pk: `T#${tenantId}`, sk: `ACCOUNT#${accountId}` }),
  job: (tenantId: string, jobId: string) => ({ pk: `T#${tenantId}`, sk: `JOB#${jobId}` }),
  /** Queue of a tenant's unfinished jobs of one kind, in creation order (gsi1). */
  jobQueue: (tenantId: string, queue: string) => `JOBQ#${tenantId}#${queue}`,
  /** Pointer to every unfinished job, for the sweeper. */
  activeJob: (tenantId: string, jobId: string) => ({ pk: 'JOBS#ACTIVE', sk: `${tenantId}#${jobId}` }),
  idempotency: (scope: string) => ({ pk: `IDEM#${scope}`, sk: 'IDEM' }),
  /** gsi1 partition of the stored responses about one contact (erasure cuts them to ids). */
  idempotencyAbout: (tenantId: string, contactId: string) => `IDEMC#${tenantId}#${contactId}`,
  tenantRegistry: (tenantId: string) => ({ pk: 'TENANTS', sk: tenantId }),
} as const;

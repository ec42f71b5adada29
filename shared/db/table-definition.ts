/**
 * The single table, declared once: the CDK stack (`infra/`) and the local stack
 * (`infra/local/`) both build it from this definition. See ARCHITECTURE.md for the item
 * catalogue and the access pattern each key serves.
 */
export const tableDefinition = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Overloaded, time-ordered index: orders by paid time, jobs by tenant, tenants by name. */
  globalSecondaryIndexes: [{ indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
  timeToLiveAttribute: 'ttl',
  /**
   * The outbox publisher reads new outbox items from the stream; the funnel roll-ups follow the
   * month cells' changes (new − old counters).
   */
  streamView: 'NEW_AND_OLD_IMAGES',
} as const;

export const GSI1 = tableDefinition.globalSecondaryIndexes[0].indexName;

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadEnv, TableEnv } from '../config.js';
import { createDocumentClient } from '../db/client.js';

/** The ports every use case receives. Built once per cold start by a function entry. */
export interface Deps {
  db: DynamoDBDocumentClient;
  tableName: string;
  now: () => Date;
}

export function createDeps(): Deps {
  const env = loadEnv(TableEnv);
  return { db: createDocumentClient(), tableName: env.TABLE_NAME, now: () => new Date() };
}

import type { TestProject } from 'vitest/node';
import { type DynamoDbLocal, startDynamoDbLocal } from '../infra/local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * Endpoints of the in-memory DynamoDB Locals the run's integration tests share, one per
     * worker (empty when none run): see `workerDynamoEndpoint`.
     */
    dynamoEndpoints: string[];
  }
}

/**
 * Starts one in-memory DynamoDB Local per test worker when integration tests are part of the run
 * (each integration file then uses tables of its own on its worker's), and stops them at teardown.
 * DynamoDB Local runs one request at a time on its database: a file that loads it would otherwise
 * stall the file running beside it.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // The root of the workspace runs no file of its own: only the named projects need databases.
  if (!project.name || !(await runsIntegrationTests(project))) {
    project.provide('dynamoEndpoints', []);
    return undefined;
  }
  const workers = Math.max(1, Number(project.config.maxWorkers) || 1);
  const dynamos: DynamoDbLocal[] = await Promise.all(
    Array.from({ length: workers }, () => startDynamoDbLocal({ inMemory: true })),
  );
  project.provide(
    'dynamoEndpoints',
    dynamos.map((d) => d.endpoint),
  );
  return async () => {
    await Promise.all(dynamos.map((d) => d.stop()));
  };
}

async function runsIntegrationTests(project: TestProject): Promise<boolean> {
  try {
    // The CLI's file filters (when given); without them every test file runs.
    const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
    const { testFiles } = await project.globTestFiles(filters);
    return testFiles.some((file) => /[\\/]test[\\/]integration[\\/]/.test(file));
  } catch {
    return true;
  }
}

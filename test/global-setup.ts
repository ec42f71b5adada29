import type { TestProject } from 'vitest/node';
import { type DynamoDbLocal, startDynamoDbLocal } from '../infra/local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the DynamoDB Local shared by the run's integration tests (absent when none run). */
    dynamoEndpoint: string | undefined;
  }
}

/**
 * Starts one in-memory DynamoDB Local for the whole run when integration tests are part of it
 * (each integration file then uses its own table on it), and stops it at teardown.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!(await runsIntegrationTests(project))) {
    project.provide('dynamoEndpoint', undefined);
    return undefined;
  }
  const dynamo: DynamoDbLocal = await startDynamoDbLocal({ inMemory: true });
  project.provide('dynamoEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
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

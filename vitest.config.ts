import { defineConfig } from 'vitest/config';

const report = process.env.SIYU_TEST_REPORT;

/**
 * The suites that load the machine for minutes (tens of thousands of requests on DynamoDB Local):
 * they run one at a time after everything else, so neither they nor the rest time out for want of
 * CPU on a small machine.
 */
const heavy = [
  'test/integration/rfm-cdnow.test.ts',
  'test/integration/handover.test.ts',
  'test/integration/orders-property.test.ts',
  'test/integration/ingest-concurrency.test.ts',
];

export default defineConfig({
  test: {
    setupFiles: ['test/setup-env.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // CI reads the counts from a JSON report; people read the default reporter.
    reporters: report ? ['default', 'json'] : ['default'],
    ...(report ? { outputFile: { json: report } } : {}),
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: heavy,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'heavy',
          include: heavy,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

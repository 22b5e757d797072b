/** @type {import('jest').Config} */
const base = { preset: 'ts-jest', testEnvironment: 'node', testTimeout: 120000 };

module.exports = {
  // Integration tests share one broker; one file at a time keeps a loaded
  // 2-core machine from turning broker latency into flaky deadlines.
  maxWorkers: 1,
  testTimeout: 120000,
  projects: [
    { ...base, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    {
      ...base,
      displayName: 'integration',
      roots: ['<rootDir>/test/integration', '<rootDir>/test/issues'],
      // Runs only when an integration test runs: needs the broker, proves no topic leaked.
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
    // A three-node cluster of its own (test/cluster): not part of `npm test`; `npm run test:cluster` (CI runs it on Kafka 4).
    { ...base, displayName: 'cluster', roots: ['<rootDir>/test/cluster'] },
  ],
};

/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // Integration tests share one broker; running files one at a time keeps a
  // loaded 2-core machine from turning broker latency into flaky timeouts.
  maxWorkers: 1,
  testTimeout: 120000,
};

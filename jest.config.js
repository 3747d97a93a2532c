/** Tests are transpiled by swc (fast); `npm run typecheck` does the type checking. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/interop'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // One "skipping suites that need …" line for the run, not one per suite.
  globalSetup: '<rootDir>/packages/core/testing/jest_global_setup.ts',
  testTimeout: 20000,
  maxWorkers: 2,
};

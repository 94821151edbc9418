// Test tiers (one npm script each, all run by npm test): *.test.ts are unit tests (no I/O);
// *.int.test.ts start real services against real PostgreSQL, SQLite and NATS: integration for
// one part, e2e (test/e2e/) for the whole supergraph through the router, operations
// (test/operations/) for how it is run (rolling restarts behind a load balancer).
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
}
const common = {
  transform,
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
}
export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/*.int.test.ts'],
      testPathIgnorePatterns: [
        '/node_modules/',
        '<rootDir>/test/e2e/',
        '<rootDir>/test/operations/',
        '<rootDir>/test/chaos/',
      ],
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.int.test.ts'] },
    { ...common, displayName: 'operations', testMatch: ['<rootDir>/test/operations/**/*.int.test.ts'] },
    // The short seeded chaos run (docs/chaos.md): the last tier, alone, as it starts the most processes.
    { ...common, displayName: 'chaos', testMatch: ['<rootDir>/test/chaos/**/*.int.test.ts'] },
  ],
  testTimeout: 60_000,
}

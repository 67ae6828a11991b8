import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql ships ESM and CommonJS builds; some dependencies would load one and some the other,
  // and graphql refuses types "from another realm". One build for everyone.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite takes a few hundred MB per instance: two workers fit the 2-core CI machine.
    maxWorkers: 2,
  },
});

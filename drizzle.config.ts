import { defineConfig } from 'drizzle-kit';

// Every capability keeps its tables in src/<capability>/tables.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/*/tables.ts',
  out: './drizzle',
});

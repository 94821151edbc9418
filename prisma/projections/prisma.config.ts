// Lets the Prisma CLI (`prisma migrate deploy --config prisma/projections/prisma.config.ts`) work on this
// folder wherever its engine can be downloaded; the services migrate themselves with the Wasm engine.
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/gdmarket_projections' },
})

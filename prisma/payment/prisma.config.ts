// Lets the Prisma CLI (`prisma migrate deploy --config prisma/payment/prisma.config.ts`) work on this
// folder wherever its engine can be downloaded; the services migrate themselves with the Wasm engine.
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'file:./data/payment.db' },
})

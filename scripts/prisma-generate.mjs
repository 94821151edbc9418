// Generates the Prisma clients for every database without Prisma's downloadable engines:
// `prisma generate` only needs *an* executable at PRISMA_SCHEMA_ENGINE_BINARY, never runs it
// for the engine-less `prisma-client` generator.
import { execFileSync } from 'node:child_process'
import { readdirSync, existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/true',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
}
for (const db of readdirSync(path.join(root, 'prisma'))) {
  const config = path.join(root, 'prisma', db, 'prisma.config.ts')
  if (!existsSync(config)) continue
  execFileSync(path.join(root, 'node_modules/.bin/prisma'), ['generate', '--config', config], {
    cwd: root,
    env,
    stdio: 'inherit',
  })
}

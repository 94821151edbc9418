// docker-compose.yml and the Dockerfile, checked offline (no Docker engine here): the compose
// file is parsed and held to the contract (services, ports, health checks, start order, volumes,
// secrets), and also given to `docker compose config` / `docker-compose config` when a client
// is installed. The Dockerfile is read as text for the properties the image promises.
import { describe, expect, test } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { DEV_INTERNAL_SECRET, DEV_JWT_SECRET } from '@gdmarket/platform/config'

interface ComposeService {
  image?: string
  build?: { context: string; args?: Record<string, string> }
  command?: string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  healthcheck?: { test: string[] }
  depends_on?: Record<string, { condition: string }>
  stop_grace_period?: string
}

const root = path.resolve(import.meta.dirname, '..')
const composeFile = path.join(root, 'docker-compose.yml')
// merge: the file shares settings through YAML anchors and `<<` merge keys.
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>
  volumes: Record<string, unknown>
}
const services = compose.services
const appPorts: Record<string, number> = {
  router: 4000,
  item: 4001,
  reservation: 4002,
  payment: 4003,
  projections: 4004,
}
const apps = Object.keys(appPorts)
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN)

function composeCli(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose']
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose']
  return undefined
}

describe('docker-compose.yml', () => {
  test('runs PostgreSQL 15, NATS with JetStream, Redis and the five processes', () => {
    expect(Object.keys(services).sort()).toEqual([
      'item',
      'nats',
      'payment',
      'postgres',
      'projections',
      'redis',
      'reservation',
      'router',
    ])
    // The router instances share their rate-limit buckets in Redis.
    expect(services.router.environment?.REDIS_URL).toBe('redis://redis:6379')
    expect(services.postgres.image).toMatch(/^postgis\/postgis:15-3\b/)
    expect(services.nats.command).toEqual(expect.arrayContaining(['-js', '-sd']))
    const storeDir = services.nats.command![services.nats.command!.indexOf('-sd') + 1]
    expect(services.nats.volumes).toContain(`natsdata:${storeDir}`)
  })

  test.each(apps)('%s: its own image, port, and a readiness health check on that port', name => {
    const s = services[name]
    expect(s.build?.args?.SERVICE).toBe(name)
    expect(s.environment?.PORT).toBe(String(appPorts[name]))
    expect(s.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${appPorts[name]}/health/ready`)
    expect(s.environment?.NATS_URL).toBe('nats://nats:4222')
  })

  test('NATS requires a user and password, and every process logs in with them', () => {
    const command = services.nats.command!
    const user = command[command.indexOf('--user') + 1]
    const pass = command[command.indexOf('--pass') + 1]
    expect([command.includes('--user'), command.includes('--pass')]).toEqual([true, true])
    for (const name of apps)
      expect([name, services[name].environment?.NATS_USER, services[name].environment?.NATS_PASSWORD]).toEqual([
        name,
        user,
        pass,
      ])
  })

  test('every service has a health check, and every dependency waits for one', () => {
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.healthcheck?.test?.[0]]).toEqual([name, 'CMD'])
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect([name, dep, condition, Boolean(services[dep]?.healthcheck)]).toEqual([
          name,
          dep,
          'service_healthy',
          true,
        ])
      }
    }
    expect(Object.keys(services.router.depends_on ?? {}).sort()).toEqual([
      'item',
      'payment',
      'projections',
      'reservation',
    ])
    for (const name of ['item', 'reservation', 'projections'])
      expect(Object.keys(services[name].depends_on ?? {}).sort()).toEqual(['nats', 'postgres'])
    expect(Object.keys(services.payment.depends_on ?? {})).toEqual(['nats'])
  })

  test('databases: one PostgreSQL server, payment on SQLite in a named volume', () => {
    const password = services.postgres.environment?.POSTGRES_PASSWORD
    for (const name of ['item', 'reservation', 'projections']) {
      expect(services[name].environment?.DATABASE_URL).toBe(
        `postgresql://postgres:${password}@postgres:5432/gdmarket_${name}`,
      )
    }
    const file = services.payment.environment!.DATABASE_URL.replace(/^file:/, '')
    const dataDir = path.posix.dirname(path.posix.resolve('/app', file)) // the image's WORKDIR
    expect(services.payment.volumes).toContain(`paymentdata:${dataDir}`)
    const named = Object.values(services).flatMap(s => (s.volumes ?? []).map(v => v.split(':')[0]))
    expect(Object.keys(compose.volumes).sort()).toEqual([...new Set(named)].sort())
  })

  test('the router reaches each subgraph by its service name and port', () => {
    const env = services.router.environment!
    expect(env.ITEM_URL).toBe('http://item:4001/graphql')
    expect(env.RESERVATION_URL).toBe('http://reservation:4002/graphql')
    expect(env.PAYMENT_URL).toBe('http://payment:4003/graphql')
    expect(env.PROJECTIONS_URL).toBe('http://projections:4004/graphql')
    expect(services.reservation.environment?.PAYMENT_URL).toBe('http://payment:4003/graphql')
    expect(services.router.ports).toEqual(['4000:4000'])
  })

  test('production mode gets secrets it accepts, one INTERNAL_SECRET for all', () => {
    const secrets = new Set(apps.map(n => services[n].environment?.INTERNAL_SECRET))
    expect(secrets.size).toBe(1)
    const [internal] = [...secrets]
    for (const n of apps) expect(services[n].environment?.NODE_ENV).toBe('production')
    expect(internal).not.toBe(DEV_INTERNAL_SECRET)
    expect(internal!.length).toBeGreaterThanOrEqual(16)
    expect(services.router.environment?.JWT_SECRET).not.toBe(DEV_JWT_SECRET)
    expect(services.router.environment!.JWT_SECRET.length).toBeGreaterThanOrEqual(16)
  })

  test('docker stops a process only after its own shutdown has had time to finish', () => {
    for (const n of apps) {
      const env = services[n].environment!
      expect(seconds(services[n].stop_grace_period ?? '10s') * 1000).toBeGreaterThan(
        Number(env.SHUTDOWN_GRACE_MS) + Number(env.SHUTDOWN_TIMEOUT_MS),
      )
    }
  })

  const cli = composeCli()
  ;(cli ? test : test.skip)('is accepted by the docker compose client', () => {
    execFileSync(cli![0]!, [...cli!.slice(1), '-f', composeFile, 'config', '-q'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
  })
})

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ')
  const stages = dockerfile.split(/^FROM /m).slice(1)
  const final = stages.at(-1)!

  test('builds on Node 20 and generates the Prisma clients in the image', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20[-.]/m)
    expect(stages.some(s => /^RUN npm run generate:prisma$/m.test(s))).toBe(true)
    expect(final).toMatch(/^COPY --from=build \/app\/generated generated$/m)
  })

  test('the final stage installs production dependencies only and runs as a non-root user', () => {
    expect(final).toMatch(/^RUN .*npm ci --omit=dev/m)
    expect(final).not.toMatch(/^RUN .*npm (ci|install)(?!.*--omit=dev)/m)
    expect(final).toMatch(/^USER node$/m)
    expect(final).toMatch(/^HEALTHCHECK .*\/health\/live/m)
  })

  test('copies the manifest of every workspace before installing', () => {
    const { workspaces } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
    const manifests = stages.find(s => /^scratch AS manifests$/m.test(s))
    expect(manifests).toBeDefined()
    const copied = [...manifests!.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)].map(m => m[1])
    expect(copied.sort()).toEqual([...workspaces].sort())
    expect(manifests).toMatch(/^COPY package\.json package-lock\.json \.\/$/m)
    // Every stage that installs takes the manifests first, and nothing else before npm ci.
    for (const stage of stages.filter(s => /^RUN .*npm ci/m.test(s))) {
      const beforeInstall = stage.slice(0, stage.search(/^RUN .*npm ci/m))
      expect(beforeInstall).toMatch(/^COPY --from=manifests \/ \.\/$/m)
      expect(beforeInstall.match(/^COPY /gm)).toHaveLength(1)
    }
  })

  test('.dockerignore keeps dependencies, generated clients and local data out of the context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map(l => l.trim())
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'generated', 'data', '.git']))
  })
})

// The service catalogue: every GDmarket process, once. `npm start`, the test harness, the
// router's composition, each service's config defaults, codegen and supergraph.yaml (checked by
// router/src/supergraph.test.ts) all read it, so a port or a path is written here only.
import { fileURLToPath } from 'node:url'

export const SUBGRAPH_NAMES = ['item', 'reservation', 'payment', 'projections'] as const
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number]
export type ServiceName = SubgraphName | 'router'
export const SERVICE_NAMES: readonly ServiceName[] = [...SUBGRAPH_NAMES, 'router']

export interface ServiceEntry {
  /** Its main.ts, relative to the repository root. */
  entry: string
  /** The port it listens on unless PORT says otherwise. */
  port: number
}

export interface SubgraphEntry extends ServiceEntry {
  /** Its SDL file, relative to the repository root: served by the subgraph, composed by the router. */
  sdl: string
  /** Its database folder under prisma/ (also its generated/ folder). */
  database: string
  /** The database it uses unless DATABASE_URL says otherwise. */
  defaultDatabaseUrl: string
  /** The variable the router (and a caller subgraph) reads its url from. */
  urlEnv: string
}

const postgres = (db: string) => `postgresql://postgres@127.0.0.1:5432/gdmarket_${db}`

export const SUBGRAPHS: Record<SubgraphName, SubgraphEntry> = {
  item: {
    entry: 'subgraphs/item/src/main.ts',
    port: 4001,
    sdl: 'subgraphs/item/src/item.graphql',
    database: 'item',
    defaultDatabaseUrl: postgres('item'),
    urlEnv: 'ITEM_URL',
  },
  reservation: {
    entry: 'subgraphs/reservation/src/main.ts',
    port: 4002,
    sdl: 'subgraphs/reservation/src/reservation.graphql',
    database: 'reservation',
    defaultDatabaseUrl: postgres('reservation'),
    urlEnv: 'RESERVATION_URL',
  },
  payment: {
    entry: 'subgraphs/payment/src/main.ts',
    port: 4003,
    sdl: 'subgraphs/payment/src/payment.graphql',
    database: 'payment',
    // Polyglot persistence: payment keeps its own SQLite file.
    defaultDatabaseUrl: 'file:./data/payment.db',
    urlEnv: 'PAYMENT_URL',
  },
  projections: {
    entry: 'projections/src/main.ts',
    port: 4004,
    sdl: 'projections/src/projections.graphql',
    database: 'projections',
    defaultDatabaseUrl: postgres('projections'),
    urlEnv: 'PROJECTIONS_URL',
  },
}

export const ROUTER: ServiceEntry = { entry: 'router/src/main.ts', port: 4000 }

export const SERVICES: Record<ServiceName, ServiceEntry> = { ...SUBGRAPHS, router: ROUTER }

/** Absolute path of a file given relative to the repository root. */
export const repoPath = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url))

/** A service's GraphQL url on this machine at its default port. */
export const defaultUrl = (name: ServiceName): string => `http://127.0.0.1:${SERVICES[name].port}/graphql`

/** The default database url of a database folder under prisma/. */
export function defaultDatabaseUrl(database: string): string {
  const subgraph = SUBGRAPH_NAMES.find(n => SUBGRAPHS[n].database === database)
  if (!subgraph) throw new Error(`no service uses the database ${database}`)
  return SUBGRAPHS[subgraph].defaultDatabaseUrl
}

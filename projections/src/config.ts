import { readConfig, readEventsConfig, readServiceConfig } from '@gdmarket/platform/config'
import { SUBGRAPHS } from '@gdmarket/contracts/services'

export type ProjectionsConfig = ReturnType<typeof readProjectionsConfig>

/** The projections process and its rebuild read the same settings (port and database: the service catalogue's). */
export const readProjectionsConfig = (env: NodeJS.ProcessEnv = process.env) =>
  readConfig(
    r => ({
      ...readServiceConfig(r, 'projections', SUBGRAPHS.projections.port),
      ...readEventsConfig(r, SUBGRAPHS.projections.defaultDatabaseUrl),
      // How long the ItemInfo change feed keeps a change: a router that lost NATS for less resumes without a gap.
      itemInfoFeedMaxAgeMs: r.int('ITEMINFO_FEED_MAX_AGE_MS', 3_600_000, { min: 1000 }),
      // ItemInfo rows kept in memory, so an item's next event need not read its row (0: read every time).
      itemInfoRowsInMemory: r.int('ITEMINFO_ROWS_IN_MEMORY', 10_000, { min: 0, max: 10_000_000 }),
    }),
    env,
  )

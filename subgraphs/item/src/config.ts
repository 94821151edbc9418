import { readConfig, readEventsConfig, readServiceConfig } from '@gdmarket/platform/config'

export type ItemConfig = ReturnType<typeof readItemConfig>

export const readItemConfig = (env: NodeJS.ProcessEnv = process.env) =>
  readConfig(r => ({ ...readServiceConfig(r, 'item', 4001), ...readEventsConfig(r, 'item') }), env)

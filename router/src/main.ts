// Router entry point: read config, build, listen until SIGTERM/SIGINT.
import { main, runUntilSignal } from '@gdmarket/platform/service'
import { readRouterConfig } from './config.js'
import { buildRouter } from './server.js'

main(async () => {
  const config = readRouterConfig()
  const router = buildRouter(config)
  // Give the drain its full budget before runUntilSignal forces an exit.
  await runUntilSignal(router.service, config.shutdownGraceMs + config.shutdownTimeoutMs + 5_000)
})

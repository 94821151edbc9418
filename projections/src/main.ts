import { main, runUntilSignal } from '@gdmarket/platform/service'
import { readProjectionsConfig } from './config.js'
import { buildProjectionsSubgraph } from './server.js'

main(async () => runUntilSignal(await buildProjectionsSubgraph(readProjectionsConfig())))

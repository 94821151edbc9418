import { main, runUntilSignal } from '@gdmarket/platform/service'
import { readItemConfig } from './config.js'
import { buildItemSubgraph } from './server.js'

main(async () => runUntilSignal(await buildItemSubgraph(readItemConfig())))

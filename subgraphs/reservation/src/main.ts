import { main, runUntilSignal } from '@gdmarket/platform/service'
import { readReservationConfig } from './config.js'
import { buildReservationSubgraph } from './server.js'

main(async () => runUntilSignal(await buildReservationSubgraph(readReservationConfig())))

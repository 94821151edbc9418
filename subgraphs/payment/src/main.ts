import { main, runUntilSignal } from '@gdmarket/platform/service'
import { readPaymentConfig } from './config.js'
import { buildPaymentSubgraph } from './server.js'

main(async () => runUntilSignal(await buildPaymentSubgraph(readPaymentConfig())))

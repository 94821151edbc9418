// Hive Gateway's CLI config for the bench (`hive-gateway supergraph <file> -c this`): defaults
// except identity, which subgraphs need for the caller's reservations: every subgraph request
// carries the same static x-gdmarket-* headers our router would compute (BENCH_SUBGRAPH_HEADERS).
import { defineConfig } from '@graphql-hive/gateway'

const headers = JSON.parse(process.env.BENCH_SUBGRAPH_HEADERS ?? '{}') as Record<string, string>

export const gatewayConfig = defineConfig({
  propagateHeaders: { fromClientToSubgraphs: () => headers },
})

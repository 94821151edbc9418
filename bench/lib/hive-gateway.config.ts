// Hive Gateway's CLI config for the bench (`hive-gateway supergraph <file> -c this`): defaults
// except identity, which subgraphs need for the caller's reservations: every subgraph request
// carries the same static x-gdmarket-* headers our router would compute (BENCH_SUBGRAPH_HEADERS).
// Deliberately not typed via `defineConfig` from '@graphql-hive/gateway': importing its types pulls
// in graphql-yoga's augmentation of GraphQLErrorExtensions, which clashes with Apollo Server's in
// the one typecheck of the repository.
const headers = JSON.parse(process.env.BENCH_SUBGRAPH_HEADERS ?? '{}') as Record<string, string>

export const gatewayConfig = {
  propagateHeaders: { fromClientToSubgraphs: (): Record<string, string> => headers },
}

// The "stock" peer: @apollo/gateway behind Apollo Server's standalone server, all defaults, over the
// supergraph file the bench composed. The one addition is identity: subgraphs serve the caller's
// reservations only beside GDmarket's internal headers, so every subgraph request carries the same
// static x-gdmarket-* headers our router would compute (BENCH_SUBGRAPH_HEADERS, JSON).
import { readFileSync } from 'node:fs'
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway'
import { ApolloServer } from '@apollo/server'
import { startStandaloneServer } from '@apollo/server/standalone'

const headers = JSON.parse(process.env.BENCH_SUBGRAPH_HEADERS ?? '{}') as Record<string, string>
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_FILE ?? 'supergraph.graphql', 'utf8'),
  buildService: ({ url }) =>
    new RemoteGraphQLDataSource({
      url,
      willSendRequest({ request }) {
        for (const [k, v] of Object.entries(headers)) request.http?.headers.set(k, v)
      },
    }),
})
const server = new ApolloServer({ gateway })
const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT), host: '127.0.0.1' } })
console.log(`stock gateway at ${url}`)

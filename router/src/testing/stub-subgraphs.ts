// Stand-in subgraphs for router tests: the REAL subgraph SDL files with stub resolvers, served
// over HTTP on free ports, each recording the headers of the requests the router sent it.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { createServer } from 'node:net'
import { ApolloServer } from '@apollo/server'
import { startStandaloneServer } from '@apollo/server/standalone'
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled'
import { buildSubgraphSchema } from '@apollo/subgraph'
import type { SubgraphResolvers } from '@gdmarket/platform/subgraph'
import { GraphQLError, parse } from 'graphql'
import { readSubgraphSdl, type SubgraphName } from '../supergraph.js'

export interface StubSubgraph {
  url: string
  /** Headers of every request received, oldest first. */
  requests: IncomingHttpHeaders[]
  stop(): Promise<void>
}

export const ITEM_ID = '5b6b2a40-0000-4000-8000-000000000001'
export const RESERVATION_ID = '5b6b2a40-0000-4000-8000-000000000002'
const CREATED_AT = '2026-11-25T00:00:00.000Z'

const item = {
  id: ITEM_ID,
  name: 'Tent',
  price: 1200,
  ownerId: 'owner-1',
  status: 'RENTABLE',
  rentalStatus: 'NOT_RENTING',
  createdAt: CREATED_AT,
}
const reservation = {
  id: RESERVATION_ID,
  itemId: ITEM_ID,
  item: { id: ITEM_ID },
  customerId: 'renter-1',
  customerName: 'Bob',
  status: 'CONFIRMED',
  paymentStatus: 'NOT_PAID',
  rentalStatus: 'NOT_RENTING',
  createdAt: CREATED_AT,
}

export const STUB_RESOLVERS: Partial<Record<SubgraphName, SubgraphResolvers>> = {
  item: {
    Query: { items: () => [item], item: (_: unknown, { id }: { id: string }) => (id === ITEM_ID ? item : null) },
    Item: { __resolveReference: ({ id }: { id: string }) => (id === ITEM_ID ? item : null) },
    Mutation: {
      // A domain refusal, to show codes pass through the router untouched.
      deleteItem: () => {
        throw new GraphQLError('only the owner may delete this item', { extensions: { code: 'FORBIDDEN' } })
      },
    },
  },
  reservation: {
    Query: {
      reservations: () => [reservation],
      reservation: (_: unknown, { id }: { id: string }) => (id === RESERVATION_ID ? reservation : null),
    },
    Reservation: { __resolveReference: ({ id }: { id: string }) => (id === RESERVATION_ID ? reservation : null) },
    // A subgraph that dies with the request in hand (after payment may have acted): no answer comes.
    Mutation: {
      cancelPayment: (_: unknown, __: unknown, { req }: StubContext) => dieWith(req),
      reserveItem: (_: unknown, __: unknown, { req }: StubContext) => dieWith(req),
    },
  },
}

interface StubContext {
  req: IncomingMessage
}

function dieWith(req: IncomingMessage): never {
  req.socket.destroy()
  throw new Error('the process died')
}

export async function startStubSubgraph(name: SubgraphName): Promise<StubSubgraph> {
  const requests: IncomingHttpHeaders[] = []
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs: parse(readSubgraphSdl(name)), resolvers: STUB_RESOLVERS[name] ?? {} }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  })
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => {
      requests.push(req.headers)
      return { req }
    },
  })
  return { url: new URL('/graphql', url).toString(), requests, stop: () => server.stop() }
}

/** A url on which nothing listens: a subgraph that is down. */
export async function downSubgraphUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>(resolve => server.close(() => resolve()))
  if (typeof address !== 'object' || !address) throw new Error('no port')
  return `http://127.0.0.1:${address.port}/graphql`
}

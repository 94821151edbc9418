// The supergraph is composed from the subgraphs' own SDL files (the same files the subgraphs serve),
// so the router can never drift from them. Composition runs offline in well under a second.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { composeServices } from '@apollo/composition'
import { parse } from 'graphql'

export const SUBGRAPH_NAMES = ['item', 'reservation', 'payment', 'projections'] as const
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number]
export type SubgraphUrls = Record<SubgraphName, string>

const repoRoot = new URL('../../', import.meta.url)

/** Where each subgraph's SDL lives, relative to the repository root. */
export const SUBGRAPH_SDL_PATHS: Record<SubgraphName, string> = {
  item: 'subgraphs/item/src/item.graphql',
  reservation: 'subgraphs/reservation/src/reservation.graphql',
  payment: 'subgraphs/payment/src/payment.graphql',
  projections: 'projections/src/projections.graphql',
}

const DEFAULT_PORTS: Record<SubgraphName, number> = { item: 4001, reservation: 4002, payment: 4003, projections: 4004 }

export const defaultSubgraphUrls = (): SubgraphUrls =>
  Object.fromEntries(SUBGRAPH_NAMES.map(n => [n, `http://127.0.0.1:${DEFAULT_PORTS[n]}/graphql`])) as SubgraphUrls

/** Absolute path of a file given relative to the repository root. */
export const repoPath = (relative: string): string => fileURLToPath(new URL(relative, repoRoot))

export const readSubgraphSdl = (name: SubgraphName): string => readFileSync(repoPath(SUBGRAPH_SDL_PATHS[name]), 'utf8')

/** The supergraph SDL for these routing urls; throws with every composition error if they do not compose. */
export function composeSupergraph(urls: SubgraphUrls = defaultSubgraphUrls()): string {
  const result = composeServices(
    SUBGRAPH_NAMES.map(name => ({ name, url: urls[name], typeDefs: parse(readSubgraphSdl(name)) })),
  )
  if (result.errors)
    throw new Error(`the subgraphs do not compose:\n  - ${result.errors.map(e => e.message).join('\n  - ')}`)
  return result.supergraphSdl
}

/** The checked-in supergraph, composed with the default urls (what rover users and the stale check see). */
export const SUPERGRAPH_FILE = 'router/supergraph.graphql'

/** The exact content `npm run compose` writes to SUPERGRAPH_FILE. */
export const renderSupergraphFile = (): string => `${composeSupergraph()}\n`

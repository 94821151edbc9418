// The supergraph is composed from the subgraphs' own SDL files (the same files the subgraphs serve),
// so the router can never drift from them. Composition runs offline in well under a second.
import { readFileSync } from 'node:fs'
import { composeServices } from '@apollo/composition'
import { parse } from 'graphql'

import { defaultUrl, repoPath, SUBGRAPH_NAMES, SUBGRAPHS, type SubgraphName } from '@gdmarket/contracts/services'

export { repoPath, SUBGRAPH_NAMES, type SubgraphName }
export type SubgraphUrls = Record<SubgraphName, string>

export const defaultSubgraphUrls = (): SubgraphUrls =>
  Object.fromEntries(SUBGRAPH_NAMES.map(n => [n, defaultUrl(n)])) as SubgraphUrls

export const readSubgraphSdl = (name: SubgraphName): string => readFileSync(repoPath(SUBGRAPHS[name].sdl), 'utf8')

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

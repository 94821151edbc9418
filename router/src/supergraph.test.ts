import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import { SUPERGRAPH_FILE, composeSupergraph, renderSupergraphFile, repoPath } from './supergraph.js'

describe('supergraph', () => {
  it('the checked-in router/supergraph.graphql is what the SDL files compose to (run `npm run compose`)', () => {
    expect(readFileSync(repoPath(SUPERGRAPH_FILE), 'utf8')).toBe(renderSupergraphFile())
  })

  it('routes each subgraph to its configured url', () => {
    const sdl = composeSupergraph({
      item: 'http://i/graphql',
      reservation: 'http://r/graphql',
      payment: 'http://p/graphql',
      projections: 'http://q/graphql',
    })
    expect(sdl).toContain('@join__graph(name: "item", url: "http://i/graphql")')
    expect(sdl).toContain('@join__graph(name: "projections", url: "http://q/graphql")')
  })
})

import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import { parse } from 'yaml'
import { defaultUrl, SUBGRAPH_NAMES, SUBGRAPHS } from '@gdmarket/contracts/services'
import { SUPERGRAPH_FILE, composeSupergraph, renderSupergraphFile, repoPath } from './supergraph.js'

describe('supergraph', () => {
  it('the checked-in router/supergraph.graphql is what the SDL files compose to (run `npm run compose`)', () => {
    expect(readFileSync(repoPath(SUPERGRAPH_FILE), 'utf8')).toBe(renderSupergraphFile())
  })

  it("router/supergraph.yaml (for rover) names the service catalogue's subgraphs, SDL files and urls", () => {
    const config = parse(readFileSync(repoPath('router/supergraph.yaml'), 'utf8')) as {
      subgraphs: Record<string, { routing_url: string; schema: { file: string } }>
    }
    expect(Object.keys(config.subgraphs)).toEqual([...SUBGRAPH_NAMES])
    for (const name of SUBGRAPH_NAMES) {
      expect(config.subgraphs[name].routing_url).toBe(defaultUrl(name))
      expect(config.subgraphs[name].schema.file).toBe(`../${SUBGRAPHS[name].sdl}`)
    }
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

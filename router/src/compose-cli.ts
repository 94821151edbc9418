// `npm run compose`: writes router/supergraph.graphql with the default localhost urls, for rover
// users and reviewers; the router itself composes at start with the configured urls.
import { writeFileSync } from 'node:fs'
import { SUPERGRAPH_FILE, renderSupergraphFile, repoPath } from './supergraph.js'

writeFileSync(repoPath(SUPERGRAPH_FILE), renderSupergraphFile())
console.log(`wrote ${SUPERGRAPH_FILE}`)

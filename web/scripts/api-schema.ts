// Prints the API schema (what clients see through the router: no join__ or federation internals,
// no @inaccessible fields) from router/supergraph.graphql into web/schema.graphql, for codegen.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { apiSchemaSdl } from './api-schema-sdl.js'

const root = path.resolve(import.meta.dirname, '..', '..')
const out = path.join(root, 'web', 'schema.graphql')
writeFileSync(out, apiSchemaSdl(readFileSync(path.join(root, 'router', 'supergraph.graphql'), 'utf8')))
console.log(`wrote ${path.relative(root, out)}`)

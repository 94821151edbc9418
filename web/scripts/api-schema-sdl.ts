import { Supergraph } from '@apollo/federation-internals'
import { lexicographicSortSchema, printSchema } from 'graphql'

/** The client-facing schema of a supergraph, printed in a stable order. */
export function apiSchemaSdl(supergraphSdl: string): string {
  const api = Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema()
  return `# Generated from router/supergraph.graphql by web/scripts/api-schema.ts: do not edit.\n${printSchema(lexicographicSortSchema(api))}\n`
}

// GraphQL Code Generator: the resolver types of each subgraph, generated from its .graphql file
// into generated/<db>/resolvers.ts beside its Prisma client (`npm run generate`; generated/ is not
// checked in, postinstall writes it). Each subgraph's entry says which row type stands behind
// each GraphQL type (mappers) and what its resolvers get as context.
import path from 'node:path'
import type { CodegenConfig } from '@graphql-codegen/cli'
import { SUBGRAPH_NAMES, SUBGRAPHS, type SubgraphName } from '@gdmarket/contracts/services'

/** What each subgraph's resolvers work on; the schema file and the output folder come from the service catalogue. */
const resolverTypes: Record<SubgraphName, { context: string; mappers: Record<string, string> }> = {
  // GraphQL type → `module#Type`, modules relative to the subgraph's SDL file (or a package's).
  item: { context: 'ItemContext', mappers: { Item: './store.js#Item' } },
  reservation: {
    context: 'ReservationContext',
    mappers: { Reservation: './store.js#Reservation', Item: '@gdmarket/platform/subgraph#EntityRef' },
  },
  payment: {
    context: 'PaymentContext',
    mappers: { Payment: './store.js#Payment', Reservation: '@gdmarket/platform/subgraph#EntityRef' },
  },
  projections: {
    context: 'ProjectionsContext',
    mappers: { ItemInfo: './item-info-rules.js#ItemInfoView', Item: './item-info-rules.js#ProvidedItem' },
  },
}

/** From generated/<database>/ to a module beside the subgraph's SDL file; a package's (`@…`) as it is. */
const fromOut = (name: SubgraphName, module: string) =>
  module.startsWith('@') ? module : `../../${path.posix.dirname(SUBGRAPHS[name].sdl)}/${module.replace(/^\.\//, '')}`

const config: CodegenConfig = {
  overwrite: true,
  silent: true,
  generates: Object.fromEntries(
    SUBGRAPH_NAMES.map(name => [
      `generated/${SUBGRAPHS[name].database}/resolvers.ts`,
      {
        schema: SUBGRAPHS[name].sdl,
        plugins: ['typescript', 'typescript-resolvers'],
        config: {
          federation: true,
          useIndexSignature: false,
          // Enums as string unions, so they compare with the domain's own (contracts/) types.
          enumsAsTypes: true,
          scalars: { DateTime: 'string', ID: 'string' },
          contextType: fromOut(name, `resolvers.js#${resolverTypes[name].context}`),
          mappers: Object.fromEntries(
            Object.entries(resolverTypes[name].mappers).map(([type, m]) => [type, fromOut(name, m)]),
          ),
          mapperTypeSuffix: 'Row',
          useTypeImports: true,
          emitLegacyCommonJSImports: false,
        },
      },
    ]),
  ),
}

export default config

// GraphQL Code Generator: the resolver types of each subgraph, generated from its .graphql file
// into generated/<db>/resolvers.ts beside its Prisma client (`npm run generate`; generated/ is not
// checked in, postinstall writes it). Each subgraph's entry says which row type stands behind
// each GraphQL type (mappers) and what its resolvers get as context.
import type { CodegenConfig } from '@graphql-codegen/cli'

interface Subgraph {
  /** The subgraph's source folder. */
  dir: string
  /** Its .graphql file, in dir. */
  schema: string
  /** Its folder under generated/ (the Prisma client's). */
  out: string
  /** The context interface its resolvers.ts exports. */
  context: string
  /** GraphQL type → `module#Type` its resolvers work on, modules relative to dir. */
  mappers: Record<string, string>
}

const subgraphs: Subgraph[] = [
  {
    dir: 'subgraphs/item/src',
    schema: 'item.graphql',
    out: 'item',
    context: 'ItemContext',
    mappers: { Item: './store.js#Item' },
  },
  {
    dir: 'subgraphs/reservation/src',
    schema: 'reservation.graphql',
    out: 'reservation',
    context: 'ReservationContext',
    mappers: { Reservation: './store.js#Reservation', Item: './resolvers.js#EntityRef' },
  },
  {
    dir: 'subgraphs/payment/src',
    schema: 'payment.graphql',
    out: 'payment',
    context: 'PaymentContext',
    mappers: { Payment: './store.js#Payment', Reservation: './resolvers.js#ReservationRef' },
  },
  {
    dir: 'projections/src',
    schema: 'projections.graphql',
    out: 'projections',
    context: 'ProjectionsContext',
    mappers: { ItemInfo: './item-info-rules.js#ItemInfoView', Item: './resolvers.js#EntityRef' },
  },
]

/** From generated/<out>/ back to the subgraph's folder. */
const fromOut = (s: Subgraph, module: string) => `../../${s.dir}/${module.replace(/^\.\//, '')}`

const config: CodegenConfig = {
  overwrite: true,
  silent: true,
  generates: Object.fromEntries(
    subgraphs.map(s => [
      `generated/${s.out}/resolvers.ts`,
      {
        schema: `${s.dir}/${s.schema}`,
        plugins: ['typescript', 'typescript-resolvers'],
        config: {
          federation: true,
          useIndexSignature: false,
          // Enums as string unions, so they compare with the domain's own (contracts/) types.
          enumsAsTypes: true,
          scalars: { DateTime: 'string', ID: 'string' },
          contextType: fromOut(s, `resolvers.js#${s.context}`),
          mappers: Object.fromEntries(Object.entries(s.mappers).map(([type, m]) => [type, fromOut(s, m)])),
          mapperTypeSuffix: 'Row',
          useTypeImports: true,
          emitLegacyCommonJSImports: false,
        },
      },
    ]),
  ),
}

export default config

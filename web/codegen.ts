// GraphQL Code Generator, client preset: typed documents for every graphql() call in src/, from
// the supergraph's API schema (schema.graphql, printed from router/supergraph.graphql by
// scripts/api-schema.ts). `npm run codegen -w web` rewrites both.
import type { CodegenConfig } from '@graphql-codegen/cli'

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/**/*.tsx', 'src/**/*.ts', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      config: { scalars: { DateTime: 'string' }, enumsAsTypes: true, useTypeImports: true },
      presetConfig: { fragmentMasking: false },
    },
  },
}
export default config

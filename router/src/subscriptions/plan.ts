// Runs a subscription document for one event with the gateway's own query planner, so any
// selection the schema allows resolves exactly as in a query. The planner splits
// `itemInfoChanged { … item { name } }` into a primary fetch to the projections subgraph and the
// rest (an `_entities` fetch to the item subgraph, batched). The primary fetch is answered from the
// event itself (ItemInfo's own fields are exactly the event's version); the rest runs through the
// gateway's executeQueryPlan against the live subgraphs (foreign fields are read at delivery time).
// executeQueryPlan / buildOperationContext are exported but undocumented, and the planner packages
// are pinned to the gateway's exact version; plan.test.ts guards this path on upgrades.
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway'
import { Supergraph, operationFromDocument, type Schema } from '@apollo/federation-internals'
import { QueryPlanner, type FetchNode, type PlanNode } from '@apollo/query-planner'
import { GraphQLError, execute, parse, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql'
import type { Logger } from '@gdmarket/platform/logger'
import type { RouterContext } from '../context.js'

type RequestContext = Parameters<typeof executeQueryPlan>[2]

/** The only subscription field; its events come from the ItemInfo feed. */
export const ITEM_INFO_CHANGED = 'itemInfoChanged'
/** A service name no subgraph has: the primary fetch is routed to the event instead. */
const EVENT_SOURCE = '__itemInfoChanged_event__'

interface LoadedSchema {
  apiSchema: GraphQLSchema
  federationApi: Schema
  supergraphSchema: GraphQLSchema
  planner: QueryPlanner
}

/** A planned subscription document: run it once per event (shared by every subscriber of it). */
export interface PreparedSubscription {
  run(
    payload: Record<string, unknown>,
    variables: Record<string, unknown>,
    context: RouterContext,
  ): Promise<ExecutionResult>
  /**
   * Present when the selection is all ItemInfo's own fields (no other subgraph to ask): the
   * result straight from the event, synchronously, so it is written to sockets in the same turn.
   */
  runOwn?(payload: Record<string, unknown>, variables: Record<string, unknown>): ExecutionResult
}

// The gateway's request context type wants a cache; nothing in plan execution reads it.
const noCache: RequestContext['cache'] = {
  get: async () => undefined,
  set: async () => undefined,
  delete: async () => true,
}

export class SubscriptionPlanner {
  private loaded: LoadedSchema | undefined

  constructor(
    private readonly sources: ServiceMap,
    private readonly logger: Logger,
  ) {}

  /** Called on every gateway schema load, with the gateway's own API schema and supergraph. */
  load(apiSchema: GraphQLSchema, coreSupergraphSdl: string): void {
    const supergraph = Supergraph.build(coreSupergraphSdl)
    this.loaded = {
      apiSchema,
      federationApi: supergraph.apiSchema(),
      supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
      planner: new QueryPlanner(supergraph),
    }
  }

  /** Plans a validated subscription document; throws a GraphQLError if it cannot be served. */
  prepare(document: DocumentNode, operationName: string | undefined): PreparedSubscription {
    const loaded = this.loaded
    if (!loaded)
      throw new GraphQLError('the supergraph is not loaded yet', { extensions: { code: 'SERVICE_UNAVAILABLE' } })
    const plan = loaded.planner.buildQueryPlan(operationFromDocument(loaded.federationApi, document, { operationName }))
    const node = plan.node
    if (node?.kind !== 'Subscription')
      throw new GraphQLError('only subscription operations are served here', { extensions: { code: 'BAD_USER_INPUT' } })
    const primaryDocument = parse(node.primary.operation)
    const rootField = primaryDocument.definitions.flatMap(d =>
      d.kind === 'OperationDefinition' ? d.selectionSet.selections : [],
    )[0]
    if (rootField?.kind !== 'Field' || rootField.name.value !== ITEM_INFO_CHANGED) {
      throw new GraphQLError(`only ${ITEM_INFO_CHANGED} is served`, { extensions: { code: 'BAD_USER_INPUT' } })
    }
    const primary: FetchNode = { ...node.primary, serviceName: EVENT_SOURCE }
    const root: PlanNode = node.rest ? { kind: 'Sequence', nodes: [primary, node.rest] } : primary
    const operationContext = buildOperationContext({
      schema: loaded.apiSchema,
      operationDocument: document,
      operationName,
    })

    // Without a rest, the plan is the event itself: executing the client's document on it is
    // what the primary fetch and the gateway's response shaping give (plan.test.ts compares them).
    const runOwn = node.rest
      ? undefined
      : (payload: Record<string, unknown>, variables: Record<string, unknown>): ExecutionResult => {
          const result = execute({
            schema: loaded.apiSchema,
            document,
            operationName,
            rootValue: { [ITEM_INFO_CHANGED]: payload },
            variableValues: variables,
          })
          if (result instanceof Promise) throw new Error('an own-fields subscription resolved asynchronously')
          return result
        }

    return {
      runOwn,
      run: async (payload, variables, context) => {
        // What the projections subgraph would answer to the primary fetch, computed from the event.
        const eventSource: GraphQLDataSource<RouterContext> = {
          process: async ({ request }) =>
            execute({
              schema: loaded.apiSchema,
              document: primaryDocument,
              rootValue: { [ITEM_INFO_CHANGED]: payload },
              variableValues: request.variables,
            }),
        }
        const requestContext: RequestContext = {
          request: { variables, operationName },
          context,
          logger: this.logger,
          schema: loaded.apiSchema,
          // A branded string in the gateway's types; only usage reporting reads it.
          schemaHash: '' as RequestContext['schemaHash'],
          cache: noCache,
          queryHash: '',
          document,
          source: '',
          operationName: operationName ?? null,
          operation: operationContext.operation,
          metrics: {},
          overallCachePolicy: undefined,
        }
        return executeQueryPlan(
          { kind: 'QueryPlan', node: root },
          { ...this.sources, [EVENT_SOURCE]: eventSource },
          requestContext,
          operationContext,
          loaded.supergraphSchema,
          loaded.federationApi,
        )
      },
    }
  }
}

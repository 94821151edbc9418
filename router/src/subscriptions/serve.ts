// One itemInfoChanged subscription, whatever the transport (graphql-ws, SSE, multipart HTTP): reads
// its arguments, checks them, joins the hub, and starts it where the client asked:
// - live: from the next change on;
// - after a cursor: every matching change after it, read from the feed stream, then live. The
//   switch is exact because the replay and the live edge are one sequence: the replay reads until
//   it has passed the last change this router delivered live, and in that same step the
//   subscriber turns live with everything up to there counted as sent. Nothing can come in
//   between (one thread), so no change is sent twice and none is skipped;
// - current: the matching ItemInfos as they are now (a query, as the subscriber), while live
//   changes are held; then the held and later changes that are newer than the state sent.
import {
  GraphQLError,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isLeafType,
  isObjectType,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql'
import type { Caller } from '@gdmarket/platform/identity'
import type { Logger } from '@gdmarket/platform/logger'
import type { RouterContext } from '../context.js'
import { itemInfoChangedArguments, type ItemInfoChangedArguments } from './documents.js'
import { cursorExpired, type ItemInfoEvent, type ItemInfoFeed, VersionGuard } from './feed.js'
import type { Subscriber, SubscriptionHub } from './hub.js'
import type { SubscriptionPlanner } from './plan.js'
import type { SubscriberQueue } from './queue.js'

export interface SubscribeRequest {
  schema: GraphQLSchema
  document: DocumentNode
  query: string
  operationName?: string
  variables?: Record<string, unknown> | null
  caller: Caller | null
  /** The subscriber fell behind: its transport cuts it off. */
  onOverflow: () => void
}

export type ExecuteOperation = (
  request: { query: string; operationName?: string; variables?: Record<string, unknown> },
  context: RouterContext,
) => Promise<ExecutionResult>

/** How many ItemInfos one page of the current state asks for (the contract's largest page). */
const CURRENT_PAGE = 200
/** A cursor is a stream sequence: digits, and below 2^53 so it stays exact in JavaScript. */
const CURSOR = /^\d{1,15}$/

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } })
const unavailable = (message: string) => new GraphQLError(message, { extensions: { code: 'SERVICE_UNAVAILABLE' } })

export class SubscriptionService {
  constructor(
    private readonly hub: SubscriptionHub,
    private readonly feed: ItemInfoFeed,
    private readonly planner: SubscriptionPlanner,
    private readonly executeOperation: ExecuteOperation,
    private readonly logger: Logger,
    /** Feed changes a replay fetches at once (SUBSCRIPTION_REPLAY_BATCH). */
    private readonly replayBatch = 512,
  ) {}

  async subscribe(request: SubscribeRequest): Promise<SubscriberQueue<ExecutionResult> | ExecutionResult> {
    const { schema, document, query } = request
    const operationName = request.operationName ?? undefined
    const operation = getOperationAST(document, operationName)
    if (operation?.operation !== 'subscription') return { errors: [badInput('not a subscription operation')] }
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {})
    if (coerced.errors) return { errors: coerced.errors }
    const args = itemInfoChangedArguments(schema, document, operationName, coerced.coerced)
    if (!args) return { errors: [badInput('only itemInfoChanged is served')] }
    const refused = this.refusal(args, request.caller)
    if (refused) return { errors: [refused] }

    let after: number | null = null
    if (args.after !== null) {
      after = Number(args.after)
      try {
        await this.feed.ready()
        const { first, last } = await this.feed.bounds()
        if (after > last) return { errors: [badInput(`cursor ${after} is not a position of this change feed`)] }
        if (after + 1 < first) return { errors: [cursorExpired(after, first)] }
      } catch (err) {
        this.logger.warn({ err }, 'change feed unavailable for a replay')
        return { errors: [unavailable('the change feed is unavailable, try again later')] }
      }
    }
    const shared = Object.fromEntries(
      Object.entries(coerced.coerced).filter(([name]) => !args.startVariables.includes(name)),
    )
    const replay = after !== null && after < this.feed.lastSeq
    let subscriber: Subscriber
    try {
      subscriber = this.hub.join({
        key: JSON.stringify([query, operationName ?? null, shared]),
        query,
        filter: { itemId: args.itemId, ownerId: args.ownerId },
        variables: coerced.coerced,
        userId: request.caller?.userId ?? null,
        prepare: () => this.planner.prepare(document, operationName),
        onOverflow: request.onOverflow,
        start: replay ? 'replay' : args.current ? 'hold' : 'live',
        floor: after ?? 0,
      })
    } catch (err) {
      if (err instanceof GraphQLError) return { errors: [err] }
      this.logger.error({ err }, 'cannot serve a subscription')
      return {
        errors: [new GraphQLError('cannot serve this subscription', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })],
      }
    }
    if (replay && after !== null) void this.replay(subscriber, after)
    else if (args.current) void this.sendCurrent(subscriber, args, request.caller, schema)
    return subscriber.queue
  }

  private refusal(args: ItemInfoChangedArguments, caller: Caller | null): GraphQLError | null {
    if (args.current && args.itemId === null && args.ownerId === null)
      return badInput('current: true needs itemId or ownerId (the current state of every item is not sent)')
    if (args.current && args.after !== null)
      return badInput('current and after exclude each other: after already names the state the client has')
    if (args.after !== null && !CURSOR.test(args.after))
      return badInput('after must be a cursor: the decimal string of an ItemInfo.cursor')
    if (args.selectsPrivate && !caller)
      return new GraphQLError(
        'subscribing to reservationId, customerId, customerName or paymentStatus needs a token (they are shown only to the item owner and the customer)',
        { extensions: { code: 'UNAUTHENTICATED' } },
      )
    return null
  }

  /**
   * Every change after `after` from the feed stream, then live; backpressured by the subscriber's
   * buffer. The feed is read a batch at a time, and what one batch pushes is written at once.
   */
  private async replay(subscriber: Subscriber, after: number): Promise<void> {
    const guard = new VersionGuard()
    const queue = subscriber.queue
    let position = after
    try {
      for await (const batch of this.feed.read(after + 1, () => queue.open, this.replayBatch)) {
        let next = 0
        let live = false
        while (next < batch.length && !live && queue.open) {
          queue.batch(() => {
            for (; next < batch.length && queue.hasRoom; next++) {
              const { seq, event } = batch[next]
              position = seq
              if (event && guard.admit(event) && subscriber.wants(event)) this.hub.send(subscriber, event)
              // This step and goLive are one synchronous step: no live change can slip in between.
              if (position >= this.feed.lastSeq) {
                this.hub.goLive(subscriber, position)
                live = true
                return
              }
            }
          })
          if (!live) await queue.room()
        }
        if (live || !queue.open) return
      }
    } catch (err) {
      if (err instanceof GraphQLError) return queue.fail(err)
      this.logger.warn({ err, after, position }, 'replay of the change feed failed')
      queue.fail(unavailable('the change feed is unavailable, subscribe again from your last cursor'))
    }
  }

  /** The current state of the matching items, as the subscriber may see it, then what changed after it. */
  private async sendCurrent(
    subscriber: Subscriber,
    args: ItemInfoChangedArguments,
    caller: Caller | null,
    schema: GraphQLSchema,
  ): Promise<void> {
    const queue = subscriber.queue
    try {
      const rows = await this.currentState(args, caller, schema)
      if (!queue.open) return
      subscriber.versionFloors = new Map(rows.map(r => [r.itemId, r.version]))
      for (const row of rows) {
        this.hub.send(subscriber, row)
        await queue.room()
        if (!queue.open) return
      }
      this.hub.goLive(subscriber, 0)
    } catch (err) {
      queue.fail(err instanceof GraphQLError ? err : unavailable('the current state is unavailable, try again later'))
    }
  }

  /** Reads the matching ItemInfos through the gateway as the subscriber (private fields as it may see them). */
  private async currentState(
    args: ItemInfoChangedArguments,
    caller: Caller | null,
    schema: GraphQLSchema,
  ): Promise<ItemInfoEvent[]> {
    const fields = itemInfoSelection(schema)
    const context = (): RouterContext => ({
      caller,
      correlationId: `itemInfoChanged-current-${Date.now()}`,
      logger: this.logger,
    })
    const rows: Record<string, unknown>[] = []
    if (args.itemId !== null) {
      const result = await this.executeOperation(
        {
          query: `query($itemId: ID!) { itemInfo(itemId: $itemId) { ${fields} } }`,
          variables: { itemId: args.itemId },
        },
        context(),
      )
      if (result.errors?.length) throw result.errors[0]
      const row = (result.data as { itemInfo?: Record<string, unknown> | null } | null)?.itemInfo
      if (row && (args.ownerId === null || row.ownerId === args.ownerId)) rows.push(row)
    } else {
      const paged =
        schema
          .getQueryType()
          ?.getFields()
          .itemInfos?.args.some(a => a.name === 'first') ?? false
      let last: string | null = null
      for (;;) {
        const result = await this.executeOperation(
          {
            query: paged
              ? `query($ownerId: ID, $after: ID) { itemInfos(ownerId: $ownerId, first: ${CURRENT_PAGE}, after: $after) { ${fields} } }`
              : `query($ownerId: ID) { itemInfos(ownerId: $ownerId) { ${fields} } }`,
            variables: paged ? { ownerId: args.ownerId, after: last } : { ownerId: args.ownerId },
          },
          context(),
        )
        if (result.errors?.length) throw result.errors[0]
        const page = (result.data as { itemInfos?: Record<string, unknown>[] } | null)?.itemInfos ?? []
        rows.push(...page)
        if (!paged || page.length < CURRENT_PAGE) break
        last = String(page[page.length - 1].itemId)
      }
    }
    return rows.map(row => ({
      itemId: String(row.itemId),
      ownerId: typeof row.ownerId === 'string' ? row.ownerId : null,
      version: Number(row.version),
      cursor: Number(row.cursor ?? 0),
      payload: row,
    }))
  }
}

/** Every field of ItemInfo as the projections subgraph answers it: leaves, objects' leaves, `item { id }`. */
function itemInfoSelection(schema: GraphQLSchema): string {
  const type = schema.getType('ItemInfo')
  if (!isObjectType(type)) throw new Error('the schema has no ItemInfo type')
  return Object.values(type.getFields())
    .flatMap(field => {
      if (field.name === 'item') return ['item { id }']
      const named = getNamedType(field.type)
      if (isLeafType(named)) return [field.name]
      if (!isObjectType(named)) return []
      const leaves = Object.values(named.getFields()).filter(f => isLeafType(getNamedType(f.type)))
      return leaves.length ? [`${field.name} { ${leaves.map(f => f.name).join(' ')} }`] : []
    })
    .join(' ')
}

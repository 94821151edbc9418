// Guards the undocumented gateway path subscriptions rely on (QueryPlanner + executeQueryPlan +
// buildOperationContext from @apollo/gateway 2.14.4): if an upgrade changes it, this fails first.
import { describe, expect, it } from '@jest/globals'
import { Supergraph } from '@apollo/federation-internals'
import type { GraphQLDataSource } from '@apollo/gateway'
import { parse } from 'graphql'
import { createLogger } from '@gdmarket/platform/logger'
import type { RouterContext } from '../context.js'
import { composeSupergraph } from '../supergraph.js'
import { SubscriptionPlanner } from './plan.js'

const logger = createLogger('test', 'silent')
const context: RouterContext = { caller: null, correlationId: 'test', logger }
const ITEM = '5b6b2a40-0000-4000-8000-000000000001'
const payload = (version: number, deleted = false) => ({
  itemId: ITEM,
  item: deleted ? null : { id: ITEM, name: 'Tent', price: 100, ownerId: 'o-1' },
  itemName: 'Tent (as of the event)',
  itemPrice: 100,
  ownerId: 'o-1',
  itemStatus: 'RENTABLE',
  rentalStatus: 'NOT_RENTING',
  deleted,
  reservationId: null,
  customerId: null,
  customerName: null,
  reservationStatus: null,
  paymentStatus: null,
  version,
  updatedAt: '2026-11-25T00:00:00.000Z',
})

function setup() {
  const representations: unknown[][] = []
  const item: GraphQLDataSource<RouterContext> = {
    process: async ({ request }) => {
      const reps: { id: string }[] = request.variables?.representations ?? []
      representations.push(reps)
      return { data: { _entities: reps.map(() => ({ __typename: 'Item', status: 'NOT_RENTABLE' })) } }
    },
  }
  const planner = new SubscriptionPlanner({ item }, logger)
  const sdl = composeSupergraph()
  planner.load(Supergraph.build(sdl).apiSchema().toGraphQLJSSchema(), sdl)
  return { planner, representations }
}

describe('SubscriptionPlanner', () => {
  it('answers ItemInfo fields and the provided item fields from the event, the rest from the item subgraph, with aliases and fragments', async () => {
    const { planner, representations } = setup()
    const doc = parse(
      `subscription S($id: ID) { changed: itemInfoChanged(itemId: $id) { version name: itemName ...I } } fragment I on ItemInfo { item { name status } }`,
    )
    const result = await planner.prepare(doc, 'S').run(payload(3), { id: ITEM }, context)
    expect(result).toEqual({
      data: { changed: { version: 3, name: 'Tent (as of the event)', item: { name: 'Tent', status: 'NOT_RENTABLE' } } },
    })
    expect(representations).toEqual([[{ __typename: 'Item', id: ITEM }]])
  })

  it('does not ask the item subgraph for a deleted item or a selection without item fields', async () => {
    const { planner, representations } = setup()
    const withItem = planner.prepare(parse('subscription { itemInfoChanged { deleted item { status } } }'), undefined)
    expect(await withItem.run(payload(4, true), {}, context)).toEqual({
      data: { itemInfoChanged: { deleted: true, item: null } },
    })
    const own = planner.prepare(parse('subscription { itemInfoChanged { version item { id } } }'), undefined)
    expect(await own.run(payload(5), {}, context)).toEqual({
      data: { itemInfoChanged: { version: 5, item: { id: ITEM } } },
    })
    expect(representations).toEqual([])
  })

  it('answers an own-fields selection synchronously, exactly as the query plan does', async () => {
    const { planner } = setup()
    const doc = parse(
      `subscription S($id: ID) { c: itemInfoChanged(itemId: $id) { __typename v: version ...F item { id } } } fragment F on ItemInfo { itemName rentalStatus deleted }`,
    )
    const prepared = planner.prepare(doc, 'S')
    expect(prepared.runOwn).toBeDefined()
    const own = prepared.runOwn?.(payload(6), { id: ITEM })
    expect(own).toEqual(await prepared.run(payload(6), { id: ITEM }, context))
    expect(own).toEqual({
      data: {
        c: {
          __typename: 'ItemInfo',
          v: 6,
          itemName: 'Tent (as of the event)',
          rentalStatus: 'NOT_RENTING',
          deleted: false,
          item: { id: ITEM },
        },
      },
    })
    expect(
      planner.prepare(parse('subscription { itemInfoChanged { item { name status } } }'), undefined).runOwn,
    ).toBeUndefined()
  })

  it('answers the item fields the read model provides (name, price, owner) from the event, synchronously', async () => {
    const { planner, representations } = setup()
    const prepared = planner.prepare(
      parse('subscription { itemInfoChanged { item { name price ownerId } } }'),
      undefined,
    )
    expect(prepared.runOwn).toBeDefined()
    const own = prepared.runOwn?.(payload(7), {})
    expect(own).toEqual({ data: { itemInfoChanged: { item: { name: 'Tent', price: 100, ownerId: 'o-1' } } } })
    expect(await prepared.run(payload(7), {}, context)).toEqual(own)
    expect(representations).toEqual([])
  })

  it('refuses to plan before the supergraph is loaded', () => {
    const planner = new SubscriptionPlanner({}, logger)
    expect(() => planner.prepare(parse('subscription { itemInfoChanged { version } }'), undefined)).toThrow(
      'not loaded',
    )
  })
})

// Fan-out: subscribers with the same document + variables form one group, and a group runs at most
// TWICE per event: once on the event as everyone may see it (private fields null) and once as its
// two parties see it (the item's owner, the reservation's customer); each member's queue gets the
// result its own identity allows, in event order. Without sharing, 1,000 identical subscribers
// meant 1,000 plan executions and subgraph fetches per event.
// Groups are indexed by the itemId or ownerId they filter on, so an event only touches groups that
// want it. A member that is still replaying (after a cursor) is skipped by live events: its replay
// reads them from the feed itself; one waiting for the current state holds them until it is sent.
import { randomUUID } from 'node:crypto'
import { GraphQLError, type ExecutionResult } from 'graphql'
import type { Logger } from '@gdmarket/platform/logger'
import { maySeePrivate, withoutPrivate } from '@gdmarket/platform/privacy'
import type { RouterContext } from '../context.js'
import type { ItemInfoEvent } from './feed.js'
import type { PreparedSubscription } from './plan.js'
import { SubscriberQueue } from './queue.js'
import { SharedResult } from './shared.js'

export interface Filter {
  itemId: string | null
  ownerId: string | null
}

export type StartMode = 'live' | 'replay' | 'hold'

export interface JoinRequest {
  /** Identifies the shared execution: document, operation name and coerced variables. */
  key: string
  /** The document's text: distinct texts in use are bounded per router. */
  query: string
  filter: Filter
  variables: Record<string, unknown>
  /** Who subscribes (null: anonymous): decides whether private fields are shown. */
  userId: string | null
  /** Planned only when the group does not exist yet. */
  prepare: () => PreparedSubscription
  /** This subscriber fell too far behind. */
  onOverflow: () => void
  start: StartMode
  /** Changes at or below this cursor are not delivered (the client has them). */
  floor: number
}

interface Group {
  key: string
  query: string
  filter: Filter
  variables: Record<string, unknown>
  prepared: PreparedSubscription
  members: Set<Subscriber>
}

export class Subscriber {
  state: StartMode
  floor: number
  /** Live changes that arrived while the current state was being fetched. */
  held: ItemInfoEvent[] | undefined
  /** Per item, the version the current state showed: older or equal changes are not sent again. */
  versionFloors: Map<string, number> | undefined

  constructor(
    readonly group: Group,
    readonly queue: SubscriberQueue<ExecutionResult>,
    readonly userId: string | null,
    start: StartMode,
    floor: number,
  ) {
    this.state = start
    this.floor = floor
    if (start === 'hold') this.held = []
  }

  /** Whether a change is still news to this subscriber. */
  wants(event: ItemInfoEvent): boolean {
    if (event.cursor <= this.floor) return false
    const shown = this.versionFloors?.get(event.itemId)
    return shown === undefined || event.version > shown
  }
}

const matches = (filter: Filter, event: ItemInfoEvent): boolean =>
  (filter.itemId === null || filter.itemId === event.itemId) &&
  (filter.ownerId === null || filter.ownerId === event.ownerId)

const heldTooMany = () =>
  new GraphQLError('too many changes arrived while the current state was read; subscribe again', {
    extensions: { code: 'SERVICE_UNAVAILABLE' },
  })

export class TooManyDocuments extends GraphQLError {
  constructor(max: number) {
    super(`this router serves at most ${max} distinct subscription documents at once; try again later`, {
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    })
  }
}

export class SubscriptionHub {
  private readonly groups = new Map<string, Group>()
  /** itemId → groups filtering on it. */
  private readonly byItem = new Map<string, Set<Group>>()
  /** ownerId → groups filtering on it (and on no itemId). */
  private readonly byOwner = new Map<string, Set<Group>>()
  /** Groups that want every item. */
  private readonly everything = new Set<Group>()
  /** Distinct document texts in use → groups using them. */
  private readonly documents = new Map<string, number>()

  constructor(
    private readonly limits: { bufferSize: number; maxDocuments: number },
    private readonly logger: Logger,
    /** Turns plan errors into what a client may see (no internals outside development). */
    private readonly finish: (result: ExecutionResult) => ExecutionResult,
  ) {}

  /** Adds a subscriber; its queue is what the transport reads. Throws TooManyDocuments. */
  join(request: JoinRequest): Subscriber {
    let group = this.groups.get(request.key)
    if (!group) {
      if (!this.documents.has(request.query) && this.documents.size >= this.limits.maxDocuments)
        throw new TooManyDocuments(this.limits.maxDocuments)
      group = {
        key: request.key,
        query: request.query,
        filter: request.filter,
        variables: request.variables,
        prepared: request.prepare(),
        members: new Set(),
      }
      this.groups.set(group.key, group)
      this.documents.set(group.query, (this.documents.get(group.query) ?? 0) + 1)
      this.indexOf(group.filter, true)?.add(group)
    }
    const joined = group
    const queue: SubscriberQueue<ExecutionResult> = new SubscriberQueue({
      capacity: this.limits.bufferSize,
      onOverflow: request.onOverflow,
      onEnd: () => this.leave(subscriber),
    })
    const subscriber = new Subscriber(joined, queue, request.userId, request.start, request.floor)
    group.members.add(subscriber)
    return subscriber
  }

  /** Called for every new ItemInfo version, in feed order. */
  deliver(event: ItemInfoEvent): void {
    this.deliverTo(this.byItem.get(event.itemId), event)
    if (event.ownerId !== null) this.deliverTo(this.byOwner.get(event.ownerId), event)
    this.deliverTo(this.everything, event)
  }

  /** One change for one subscriber alone (a replayed change, a current state). */
  send(subscriber: Subscriber, event: ItemInfoEvent): void {
    if (!matches(subscriber.group.filter, event)) return
    subscriber.queue.push(this.run(subscriber.group, event, this.seesPrivate(subscriber, event)))
  }

  /** Ends a replay or a hold: from here the subscriber gets live changes above `floor`. */
  goLive(subscriber: Subscriber, floor: number): void {
    subscriber.floor = Math.max(subscriber.floor, floor)
    subscriber.state = 'live'
    const held = subscriber.held ?? []
    subscriber.held = undefined
    for (const event of held) if (subscriber.wants(event)) this.send(subscriber, event)
  }

  /** Open subscriptions and distinct executions, for tests and logs. */
  stats(): { subscribers: number; groups: number; documents: number; buffered: number } {
    let subscribers = 0
    let buffered = 0
    for (const g of this.groups.values()) {
      subscribers += g.members.size
      for (const m of g.members) buffered += m.queue.length
    }
    return { subscribers, groups: this.groups.size, documents: this.documents.size, buffered }
  }

  private deliverTo(groups: Set<Group> | undefined, event: ItemInfoEvent): void {
    if (!groups) return
    for (const group of groups) {
      if (!matches(group.filter, event)) continue
      let shown: SharedResult<ExecutionResult> | undefined
      let full: SharedResult<ExecutionResult> | undefined
      for (const member of group.members) {
        if (member.state === 'replay') continue
        if (member.state === 'hold') {
          if (member.held && member.held.length >= this.limits.bufferSize) member.queue.fail(heldTooMany())
          else member.held?.push(event)
          continue
        }
        if (!member.wants(event)) continue
        if (this.seesPrivate(member, event)) {
          full ??= this.run(group, event, true)
          member.queue.push(full)
        } else {
          shown ??= this.run(group, event, false)
          member.queue.push(shown)
        }
      }
    }
  }

  private seesPrivate(subscriber: Subscriber, event: ItemInfoEvent): boolean {
    return maySeePrivate(event.payload, subscriber.userId)
  }

  private run(group: Group, event: ItemInfoEvent, withPrivate: boolean): SharedResult<ExecutionResult> {
    if (!withPrivate) event.publicPayload ??= withoutPrivate(event.payload)
    const payload = withPrivate ? event.payload : (event.publicPayload ?? event.payload)
    const { prepared } = group
    if (prepared.runOwn) {
      try {
        return new SharedResult({ value: this.finish(prepared.runOwn(payload, group.variables)) })
      } catch (err) {
        return new SharedResult({ value: this.failed(err, event) })
      }
    }
    // The plan runs without a caller: the rest of the selection (item { … }) is public catalogue
    // data, and what differs between identities (the private fields) is decided on the event.
    const context: RouterContext = {
      caller: null,
      correlationId: `itemInfoChanged-${event.itemId}-v${event.version}-${randomUUID()}`,
      logger: this.logger,
    }
    return new SharedResult(
      prepared.run(payload, group.variables, context).then(this.finish, (err: unknown) => this.failed(err, event)),
    )
  }

  private failed(err: unknown, event: ItemInfoEvent): ExecutionResult {
    this.logger.error({ err, itemId: event.itemId }, 'subscription execution failed')
    return {
      data: null,
      errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })],
    }
  }

  private indexOf(filter: Filter, create: boolean): Set<Group> | undefined {
    if (filter.itemId === null && filter.ownerId === null) return this.everything
    const [map, key] = filter.itemId !== null ? [this.byItem, filter.itemId] : [this.byOwner, filter.ownerId as string]
    const set = map.get(key)
    if (set || !create) return set
    const created = new Set<Group>()
    map.set(key, created)
    return created
  }

  private leave(subscriber: Subscriber): void {
    const group = subscriber.group
    group.members.delete(subscriber)
    if (group.members.size > 0 || this.groups.get(group.key) !== group) return
    this.groups.delete(group.key)
    const uses = (this.documents.get(group.query) ?? 1) - 1
    if (uses > 0) this.documents.set(group.query, uses)
    else this.documents.delete(group.query)
    const index = this.indexOf(group.filter, false)
    index?.delete(group)
    if (index && index !== this.everything && index.size === 0) {
      if (group.filter.itemId !== null) this.byItem.delete(group.filter.itemId)
      else if (group.filter.ownerId !== null) this.byOwner.delete(group.filter.ownerId)
    }
  }
}

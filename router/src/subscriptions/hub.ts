// Fan-out: subscribers with the same document + variables form one group, and a group runs ONCE
// per event; every member's queue gets the same result (promise), in event order. Without this,
// 1,000 identical subscribers meant 1,000 plan executions and subgraph fetches per event.
// Groups are indexed by the itemId they filter on, so an event only touches groups that want it.
import { randomUUID } from 'node:crypto'
import { GraphQLError, type ExecutionResult } from 'graphql'
import type { Logger } from '@gdmarket/platform/logger'
import type { RouterContext } from '../context.js'
import type { ItemInfoEvent } from './feed.js'
import type { PreparedSubscription } from './plan.js'
import { SubscriberQueue } from './queue.js'

export interface JoinRequest {
  /** Identifies the shared execution: document, operation name and coerced variables. */
  key: string
  /** The itemId argument; null for every item. */
  itemId: string | null
  variables: Record<string, unknown>
  /** Planned only when the group does not exist yet. */
  prepare: () => PreparedSubscription
  /** This subscriber fell too far behind. */
  onOverflow: () => void
}

interface Group {
  key: string
  itemId: string | null
  variables: Record<string, unknown>
  prepared: PreparedSubscription
  members: Set<SubscriberQueue<ExecutionResult>>
}

export class SubscriptionHub {
  private readonly groups = new Map<string, Group>()
  /** itemId → groups filtering on it; ALL for groups that want every item. */
  private readonly byItem = new Map<string | null, Set<Group>>()

  constructor(
    private readonly bufferSize: number,
    private readonly logger: Logger,
    /** Turns plan errors into what a client may see (no internals outside development). */
    private readonly finish: (result: ExecutionResult) => ExecutionResult,
  ) {}

  /** Adds a subscriber; the returned iterator is what graphql-ws reads. */
  join(request: JoinRequest): SubscriberQueue<ExecutionResult> {
    let group = this.groups.get(request.key)
    if (!group) {
      group = {
        key: request.key,
        itemId: request.itemId,
        variables: request.variables,
        prepared: request.prepare(),
        members: new Set(),
      }
      this.groups.set(group.key, group)
      const indexed = this.byItem.get(group.itemId) ?? new Set()
      indexed.add(group)
      this.byItem.set(group.itemId, indexed)
    }
    const joined = group
    const queue: SubscriberQueue<ExecutionResult> = new SubscriberQueue({
      capacity: this.bufferSize,
      onOverflow: request.onOverflow,
      onEnd: () => this.leave(joined, queue),
    })
    group.members.add(queue)
    return queue
  }

  /** Called for every new ItemInfo version, in order. */
  deliver(event: ItemInfoEvent): void {
    for (const itemId of [event.itemId, null]) {
      for (const group of this.byItem.get(itemId) ?? []) {
        const result = this.run(group, event)
        for (const member of group.members) member.push(result)
      }
    }
  }

  /** Open subscriptions and distinct executions, for tests and logs. */
  stats(): { subscribers: number; groups: number; buffered: number } {
    let subscribers = 0
    let buffered = 0
    for (const g of this.groups.values()) {
      subscribers += g.members.size
      for (const m of g.members) buffered += m.length
    }
    return { subscribers, groups: this.groups.size, buffered }
  }

  private run(group: Group, event: ItemInfoEvent): Promise<ExecutionResult> {
    // No caller identity: subscription data is public catalogue data, and executing anonymously
    // is what makes sharing one execution between different callers safe.
    const context: RouterContext = {
      caller: null,
      correlationId: `itemInfoChanged-${event.itemId}-v${event.version}-${randomUUID()}`,
      logger: this.logger,
    }
    return group.prepared.run(event.payload, group.variables, context).then(this.finish, (err: unknown) => {
      this.logger.error({ err, itemId: event.itemId }, 'subscription execution failed')
      return {
        data: null,
        errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })],
      }
    })
  }

  private leave(group: Group, queue: SubscriberQueue<ExecutionResult>): void {
    group.members.delete(queue)
    if (group.members.size > 0 || this.groups.get(group.key) !== group) return
    this.groups.delete(group.key)
    const indexed = this.byItem.get(group.itemId)
    indexed?.delete(group)
    if (indexed?.size === 0) this.byItem.delete(group.itemId)
  }
}

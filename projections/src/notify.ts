// Change notifications for itemInfoChanged: after each committed change the new ItemInfo is
// published on core NATS (at most once, no JetStream). A subscriber that misses one sees a gap in
// `version` (it grows by exactly one per change) and can re-read itemInfo(itemId) to catch up.
import type { EventBus } from '@gdmarket/platform/bus'
import { subjectPrefix } from '@gdmarket/platform/events'
import type { Logger } from '@gdmarket/platform/logger'
import type { ItemInfoView } from './item-info-rules.js'

/** `<stream lowercased>-projections.ItemInfoChanged.<itemId>`; subscribe to `…ItemInfoChanged.*` for every item. */
export const itemInfoChangedSubject = (stream: string, itemId: string): string => `${subjectPrefix(stream)}-projections.ItemInfoChanged.${itemId}`

export type Notify = (view: ItemInfoView) => void

/** Publishes on the bus's connection; a failure is logged, never undoes the committed change. */
export function natsNotifier(bus: EventBus, logger: Logger): Notify {
  const encoder = new TextEncoder()
  return (view) => {
    bus
      .ready()
      .then(({ nc }) => nc.publish(itemInfoChangedSubject(bus.stream, view.itemId), encoder.encode(JSON.stringify(view))))
      .catch((err: unknown) => logger.warn({ err, itemId: view.itemId, version: view.version }, 'ItemInfoChanged not published'))
  }
}

/** For replays: the rows are rebuilt as they were, so there is nothing new to tell anyone. */
export const silent: Notify = () => undefined

// The ItemInfo change feed (projections → the router's itemInfoChanged subscriptions): its own
// stream, kept for a while, not forever, since it is derived data.
import { subjectPrefix } from '@gdmarket/platform/events'

export const itemInfoFeedStream = (stream: string): string => `${stream}_ITEMINFO`

/** Subject per item: `<prefix>-projections.ItemInfoChanged.<itemId>`; `*` (or `>`) for every item. */
export const itemInfoChangedSubject = (stream: string, itemId = '*'): string =>
  `${subjectPrefix(stream)}-projections.ItemInfoChanged.${itemId}`

// What each router request carries from the HTTP layer to the subgraph requests it causes.
import type { Caller } from '@gdmarket/platform/identity'
import type { Logger } from '@gdmarket/platform/logger'

export interface RouterContext {
  /** The verified caller, null for an anonymous request. */
  caller: Caller | null
  correlationId: string
  logger: Logger
}

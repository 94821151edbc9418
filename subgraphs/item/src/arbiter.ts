// The item subgraph asking the reservation subgraph, the one arbiter of a rental, to decide a lend or
// a return (see renting.ts there). Its CONFLICT / NOT_FOUND / FORBIDDEN come back as they are; when it
// cannot be reached the owner is told SERVICE_UNAVAILABLE and nothing was changed on the item. (If
// the decision was made but its answer lost, the decision's event brings the item there anyway, and
// a retry of lendItem/returnItem is answered with it.)
import { AppError, serviceUnavailable } from '@gdmarket/platform/errors'
import type { Caller } from '@gdmarket/platform/identity'
import { callSubgraph } from '@gdmarket/platform/internal-call'

export interface RentalAsk {
  reservationId: string
  itemId: string
  owner: Caller
  correlationId: string
}

export interface RentalArbiter {
  decideLend(ask: RentalAsk): Promise<void>
  decideReturn(ask: RentalAsk): Promise<void>
}

const DECIDE = (field: string) => `mutation($reservationId: ID!, $itemId: ID!) {
  decision: ${field}(reservationId: $reservationId, itemId: $itemId) { id rentalStatus }
}`

export function reservationArbiter(config: {
  reservationUrl: string
  reservationTimeoutMs: number
  internalSecret: string
}): RentalArbiter {
  const ask = async (field: string, a: RentalAsk): Promise<void> => {
    try {
      await callSubgraph(
        {
          url: config.reservationUrl,
          internalSecret: config.internalSecret,
          timeoutMs: config.reservationTimeoutMs,
          correlationId: a.correlationId,
          caller: a.owner,
        },
        DECIDE(field),
        { reservationId: a.reservationId, itemId: a.itemId },
      )
    } catch (e) {
      if (e instanceof AppError) throw e
      throw serviceUnavailable('the reservation service is unavailable, try again later')
    }
  }
  return { decideLend: a => ask('decideLend', a), decideReturn: a => ask('decideReturn', a) }
}

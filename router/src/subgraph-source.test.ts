// Which lost answers may hide a payment: a request that was sent (the connection broke or no answer
// came in time, not a refused connection) of a mutation that calls payment.
import { describe, expect, it } from '@jest/globals'
import { mayHavePaid } from './subgraph-source.js'
import { SubgraphUnreachableError } from './subgraph-fetch.js'

const broken = (code: string) => new SubgraphUnreachableError('x', { cause: Object.assign(new Error(code), { code }) })
const mutation = (field: string) => ({ query: `mutation($id:ID!){${field}(id:$id){id status}}` })

describe('mayHavePaid', () => {
  it('is true for a charge or a refund whose request was sent and never answered', () => {
    for (const field of ['payReservation', 'cancelPayment', 'cancelReservation']) {
      expect(mayHavePaid(broken('ECONNRESET'), mutation(field))).toBe(true)
      expect(mayHavePaid(new SubgraphUnreachableError('no complete answer within 10000 ms'), mutation(field))).toBe(
        true,
      )
    }
    expect(mayHavePaid(broken('ECONNRESET'), { query: 'mutation { a: payReservation(id: "1") { id } }' })).toBe(true)
  })

  it('is false when the request never left, for other mutations and for queries', () => {
    expect(mayHavePaid(broken('ECONNREFUSED'), mutation('payReservation'))).toBe(false)
    expect(mayHavePaid(broken('ECONNRESET'), mutation('reserveItem'))).toBe(false)
    expect(mayHavePaid(broken('ECONNRESET'), { query: '{ payReservation }' })).toBe(false)
    expect(mayHavePaid(new Error('other'), mutation('payReservation'))).toBe(false)
    expect(mayHavePaid(broken('ECONNRESET'), undefined)).toBe(false)
  })
})

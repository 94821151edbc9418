import { describe, expect, it } from '@jest/globals'
import { completeMessage, errorMessage, parseClientMessage, pongMessage } from './ws-protocol.js'

describe('parseClientMessage', () => {
  it.each([
    '{"type":"connection_init"}',
    '{"type":"connection_init","payload":{"authorization":"Bearer x"}}',
    '{"type":"connection_init","payload":null}',
    '{"type":"ping","payload":{"at":1}}',
    '{"type":"pong"}',
    '{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}',
    '{"id":"1","type":"subscribe","payload":{"query":"{ a }","operationName":null,"variables":{"x":1},"extensions":{}}}',
    '{"id":"1","type":"complete"}',
  ])('takes %s', text => {
    expect(parseClientMessage(text)).toEqual(JSON.parse(text))
  })

  it.each([
    'not json',
    '[]',
    '"connection_init"',
    '{}',
    '{"type":"connection_init","payload":"token"}',
    '{"type":"ping","payload":[1]}',
    '{"type":"subscribe","payload":{"query":"{ a }"}}',
    '{"id":"","type":"subscribe","payload":{"query":"{ a }"}}',
    '{"id":1,"type":"subscribe","payload":{"query":"{ a }"}}',
    '{"id":"1","type":"subscribe","payload":{}}',
    '{"id":"1","type":"subscribe","payload":{"query":"{ a }","variables":[]}}',
    '{"id":"1","type":"subscribe","payload":{"query":"{ a }","operationName":3}}',
    '{"id":"1","type":"subscribe","payload":{"query":"{ a }","extensions":"x"}}',
    '{"type":"complete"}',
    // What only a server sends.
    '{"type":"connection_ack"}',
    '{"id":"1","type":"next","payload":{}}',
    '{"id":"1","type":"error","payload":[{"message":"x"}]}',
  ])('refuses %s', text => {
    expect(parseClientMessage(text)).toBeUndefined()
  })
})

describe('server messages', () => {
  it('writes pong, error and complete as graphql-ws does', () => {
    expect(pongMessage(undefined)).toBe('{"type":"pong"}')
    expect(JSON.parse(pongMessage({ at: 1 }))).toEqual({ type: 'pong', payload: { at: 1 } })
    expect(JSON.parse(errorMessage('1', [{ message: 'no' }]))).toEqual({
      id: '1',
      type: 'error',
      payload: [{ message: 'no' }],
    })
    expect(JSON.parse(completeMessage('1'))).toEqual({ id: '1', type: 'complete' })
  })
})

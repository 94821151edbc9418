// The graphql-transport-ws protocol's messages from a client and its close codes
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md), checked as graphql-ws's own
// server checks them: a message that is not one of these closes the socket with 4400.

export const PROTOCOL = 'graphql-transport-ws'

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  tryAgainLater: 1013,
  internalServerError: 4500,
  badRequest: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  initTimeout: 4408,
  subscriberExists: 4409,
  tooManyInitialisationRequests: 4429,
} as const

export interface SubscribePayload {
  query: string
  operationName?: string | null
  variables?: Record<string, unknown> | null
  extensions?: Record<string, unknown> | null
}

export type ClientMessage =
  | { type: 'connection_init'; payload?: Record<string, unknown> | null }
  | { type: 'ping'; payload?: Record<string, unknown> | null }
  | { type: 'pong'; payload?: Record<string, unknown> | null }
  | { type: 'subscribe'; id: string; payload: SubscribePayload }
  | { type: 'complete'; id: string }

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const objectOrNothing = (value: unknown) => value == null || isObject(value)

/** The message in `text`, or undefined when it is not a message a client may send. */
export function parseClientMessage(text: string): ClientMessage | undefined {
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isObject(message)) return undefined
  switch (message.type) {
    case 'connection_init':
    case 'ping':
    case 'pong':
      return objectOrNothing(message.payload) ? (message as ClientMessage) : undefined
    case 'subscribe': {
      const payload = message.payload
      const valid =
        typeof message.id === 'string' &&
        message.id !== '' &&
        isObject(payload) &&
        typeof payload.query === 'string' &&
        objectOrNothing(payload.variables) &&
        (payload.operationName == null || typeof payload.operationName === 'string') &&
        objectOrNothing(payload.extensions)
      return valid ? (message as ClientMessage) : undefined
    }
    case 'complete':
      return typeof message.id === 'string' && message.id !== '' ? (message as ClientMessage) : undefined
    default:
      return undefined
  }
}

/** The server's messages other than `next` (ws-sink.ts frames those from the shared result text). */
export const ackMessage = '{"type":"connection_ack"}'
export const pongMessage = (payload: Record<string, unknown> | null | undefined) =>
  payload ? JSON.stringify({ type: 'pong', payload }) : '{"type":"pong"}'
export const errorMessage = (id: string, errors: readonly unknown[]) =>
  JSON.stringify({ id, type: 'error', payload: errors })
export const completeMessage = (id: string) => JSON.stringify({ id, type: 'complete' })

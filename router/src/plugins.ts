// Apollo Server plugins specific to the router.
import { type DocumentNode, GraphQLError } from 'graphql'
import { findForbiddenCharacter } from '@gdmarket/platform/input'
import type { ApolloServerPlugin } from '@apollo/server'
import type { RouterContext } from './context.js'
import { checkOperationCost, type OperationLimits, withHttpStatus } from './limits.js'

export const SUBSCRIPTION_OVER_HTTP_MESSAGE =
  'subscriptions are served at /graphql over WebSocket (graphql-transport-ws), SSE (Accept: text/event-stream) or multipart HTTP (Accept: multipart/mixed;subscriptionSpec=1.0)'

/**
 * The gateway cannot execute a subscription and answers 500 with a stack trace; refuse it
 * cleanly once the operation is known instead. WebSocket subscriptions do not pass through here.
 */
export function rejectSubscriptionsOverHttp(): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return
          // BAD_USER_INPUT, like the platform's other request-level refusals; the contract lists no other fitting code.
          throw new GraphQLError(SUBSCRIPTION_OVER_HTTP_MESSAGE, {
            extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
          })
        },
      }
    },
  }
}

/**
 * The cost budget needs the variables (`items(first: $n)`), so it is checked once the operation is
 * resolved, still before the gateway plans or asks any subgraph. The other limits run as
 * validation rules (operationShapeRules) and the token cap in the parser.
 */
export function refuseCostlyOperations(limits: OperationLimits): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, schema, request }) {
          const [refused] = checkOperationCost(schema, document, limits, request)
          if (refused) throw withHttpStatus(refused)
        },
      }
    },
  }
}

/**
 * Control characters and lone surrogates in any string a client sends (a literal of the document
 * or a variable) are BAD_USER_INPUT, here once for every subgraph, before anything is planned.
 */
export function refuseForbiddenCharacters(): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const refused = forbiddenCharacterError(document, request.variables)
          if (refused) throw refused
        },
      }
    },
  }
}

/** The BAD_USER_INPUT error for a forbidden character in the operation, or null; also used for WebSocket subscriptions. */
export function forbiddenCharacterError(
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): GraphQLError | null {
  const found = findForbiddenCharacter(document, variables)
  return found
    ? new GraphQLError(`control characters and lone surrogates are not accepted (${found})`, {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      })
    : null
}

/**
 * A document whose operation cannot be chosen (an unknown operationName, or several operations and
 * none named) reaches the gateway, which fails it with HTTP 500; refuse it as the client's mistake.
 */
export function refuseUnresolvedOperations(): ApolloServerPlugin<RouterContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (operation) return
          throw new GraphQLError(
            request.operationName
              ? `the document has no operation named "${request.operationName}"`
              : 'the document has several operations: name one in operationName',
            { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } },
          )
        },
      }
    },
  }
}

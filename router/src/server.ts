// Builds the router (never listens): the platform's HTTP service with Apollo Server over the
// gateway, JWT verification into the request context, and the router's limits.
import { ApolloServer } from '@apollo/server'
import { GraphQLError } from 'graphql'
import { createHttpService, type HttpService } from '@gdmarket/platform/service'
import { createLogger, type Logger } from '@gdmarket/platform/logger'
import type { RouterConfig } from './config.js'
import { type RouterContext, requestContext } from './context.js'
import { createGateway, type RouterGateway } from './gateway.js'
import { corsInterceptor } from './cors.js'
import { webAppRoutes } from './web-app.js'
import { withContractCodes } from './errors.js'
import { createRateLimiter, rateLimitedOperation } from './rate-limit.js'
import { operationShapeRules } from './limits.js'
import {
  refuseCostlyOperations,
  refuseForbiddenCharacters,
  refuseUnresolvedOperations,
  rejectSubscriptionsOverHttp,
} from './plugins.js'
import { createSubscriptions, type Subscriptions } from './subscriptions/index.js'

export interface Router extends RouterGateway {
  /** start() listens and resolves with the port; stop() drains. `service.httpServer` is where WebSockets attach. */
  service: HttpService
  /** WebSocket subscriptions on the same server and path. */
  subscriptions: Subscriptions
}

export function buildRouter(
  config: RouterConfig,
  logger: Logger = createLogger(config.service, config.logLevel),
): Router {
  const routerGateway = createGateway(config, logger)
  const rateLimiter = createRateLimiter(config.rateLimits, logger)
  // Kept so queries and mutations sent over WebSocket run exactly like HTTP ones.
  let apollo: ApolloServer<RouterContext> | undefined
  // SSE and multipart subscriptions take their requests before Apollo Server reads the body.
  let streams: Subscriptions['streams'] | undefined
  const cors = corsInterceptor(config.cors)
  const service = createHttpService<RouterContext>({
    config,
    logger,
    maxBodyBytes: config.limits.maxBodyBytes,
    routes: webAppRoutes(config.web, config.jwtSecret),
    apollo: shared =>
      (apollo = new ApolloServer<RouterContext>({
        ...shared,
        gateway: routerGateway.gateway,
        plugins: [
          ...shared.plugins,
          rejectSubscriptionsOverHttp(),
          refuseForbiddenCharacters(),
          refuseUnresolvedOperations(),
          refuseCostlyOperations(config.operationLimits),
        ],
        formatError: withContractCodes(shared.formatError),
        // Operation limits (limits.ts): tokens while parsing, the shape with validation, the cost once resolved.
        parseOptions: { maxTokens: config.operationLimits.maxTokens },
        validationRules: operationShapeRules(config.operationLimits),
      })),
    intercept: (req, res) => cors(req, res) || (streams?.intercept(req, res) ?? false),
    context: requestContext(config, rateLimiter),
  })
  service.onStop(() => rateLimiter.close())
  service.health.addReadinessCheck('supergraph', () => {
    if (!routerGateway.apiSchema()) throw new Error('supergraph not loaded')
  })
  const subscriptions = createSubscriptions({
    config,
    logger,
    httpServer: service.httpServer,
    gateway: routerGateway.gateway,
    apiSchema: routerGateway.apiSchema,
    executeOperation: async (request, contextValue) => {
      if (!apollo) throw new Error('the router is not built yet')
      const refused = await rateLimitedOperation(rateLimiter, contextValue.caller)
      if (refused) return { errors: [refused] }
      const response = await apollo.executeOperation(request, { contextValue })
      if (response.body.kind !== 'single')
        return {
          errors: [
            new GraphQLError('incremental delivery is not served over WebSocket', {
              extensions: { code: 'BAD_USER_INPUT' },
            }),
          ],
        }
      // Already formatted by Apollo; the WebSocket server serialises GraphQLError instances (toJSON).
      const { data, errors, extensions } = response.body.singleResult
      return {
        data,
        extensions,
        errors: errors?.map(e => new GraphQLError(e.message, { path: e.path, extensions: e.extensions })),
      }
    },
  })
  streams = subscriptions.streams
  // Sockets close when the grace period ends (clients move to another instance) so HTTP can drain.
  service.onStopping(() => subscriptions.closeSockets())
  service.onStop(() => routerGateway.close())
  service.onStop(() => subscriptions.close())
  return { ...routerGateway, service, subscriptions }
}

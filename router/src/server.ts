// Builds the router (never listens): the platform's HTTP service with Apollo Server over the
// gateway, JWT verification into the request context, and the router's limits.
import { ApolloServer } from '@apollo/server'
import { createHttpService, type HttpService } from '@gdmarket/platform/service'
import { createLogger, type Logger } from '@gdmarket/platform/logger'
import { callerFromAuthorization } from './auth.js'
import type { RouterConfig } from './config.js'
import type { RouterContext } from './context.js'
import { createGateway, type RouterGateway } from './gateway.js'
import { maxDepthRule } from './limits.js'
import { rejectSubscriptionsOverHttp } from './plugins.js'

export interface Router extends RouterGateway {
  /** start() listens and resolves with the port; stop() drains. `service.httpServer` is where WebSockets attach. */
  service: HttpService
}

export function buildRouter(config: RouterConfig, logger: Logger = createLogger(config.service, config.logLevel)): Router {
  const routerGateway = createGateway(config, logger)
  const service = createHttpService<RouterContext>({
    config,
    logger,
    maxBodyBytes: config.limits.maxBodyBytes,
    apollo: ({ plugins, formatError, mode }) =>
      new ApolloServer<RouterContext>({
        gateway: routerGateway.gateway,
        logger,
        plugins: [...plugins, rejectSubscriptionsOverHttp()],
        formatError: formatError(logger, mode),
        // Sandbox needs introspection; production exposes neither.
        introspection: mode !== 'production',
        includeStacktraceInErrorResponses: mode === 'development',
        validationRules: [maxDepthRule(config.limits.maxQueryDepth)],
        // The platform owns SIGTERM (grace period, then drain); Apollo's own handler would exit at once.
        stopOnTerminationSignals: false,
      }),
    // A present but invalid token fails here, before any subgraph is asked.
    context: async ({ correlationId, logger: requestLogger, headers }) => ({
      correlationId,
      logger: requestLogger,
      caller: await callerFromAuthorization(headers.authorization, config.jwtSecret),
    }),
  })
  service.health.addReadinessCheck('supergraph', () => {
    if (!routerGateway.apiSchema()) throw new Error('supergraph not loaded')
  })
  service.onStop(() => routerGateway.close())
  return { ...routerGateway, service }
}

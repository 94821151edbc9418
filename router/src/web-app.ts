// The web app (web/, built by Vite into web/dist) served by the router: GET / is the app, its
// files under /assets/, GET /web-config.json tells it how people sign in. In development (and
// tests) POST /dev/token mints a token for whoever the "sign in as" picker chose; production
// never mounts it (and refuses WEB_DEV_TOKENS=1): there the token comes from the identity
// provider (WEB_IDENTITY_PROVIDER_URL, which sends the browser back to /#access_token=<jwt>).
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ConfigReader, RuntimeMode } from '@gdmarket/platform/config'
import type { RouteHandler } from '@gdmarket/platform/service'
import { ROLES, type Caller, type Role } from '@gdmarket/platform/identity'
import { signToken } from './auth.js'

export interface WebAppConfig {
  /** Where the built app is (index.html and assets/). */
  dir: string
  /** Whether POST /dev/token mints tokens (never in production). */
  devTokens: boolean
  /** How long a minted development token lives, in seconds. */
  devTokenTtlS: number
  /** Where production sends people to sign in; null when none is configured. */
  identityProviderUrl: string | null
}

const DEFAULT_DIR = path.resolve(import.meta.dirname, '..', '..', 'web', 'dist')
/** A development token request's largest body and id/name length. */
const DEV_TOKEN_MAX_BODY = 4096
const DEV_TOKEN_MAX_FIELD = 100

export function readWebAppConfig(r: ConfigReader, mode: RuntimeMode): WebAppConfig {
  const devTokens = r.oneOf('WEB_DEV_TOKENS', ['0', '1'] as const, mode === 'production' ? '0' : '1') === '1'
  if (devTokens && mode === 'production') r.problem('WEB_DEV_TOKENS=1 is refused in production')
  const idp = r.string('WEB_IDENTITY_PROVIDER_URL', '')
  if (idp) r.url('WEB_IDENTITY_PROVIDER_URL', idp)
  return {
    dir: r.string('WEB_APP_DIR', DEFAULT_DIR),
    devTokens: devTokens && mode !== 'production',
    devTokenTtlS: r.int('WEB_DEV_TOKEN_TTL_S', 12 * 3600, { min: 60, max: 30 * 86400 }),
    identityProviderUrl: idp || null,
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) reject(new Error(`body over ${limit} bytes`))
      else chunks.push(c)
    })
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      } catch {
        reject(new Error('body is not JSON'))
      }
    })
    req.on('error', reject)
  })
}

const hasControl = (s: string) => [...s].some(c => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)

/** A development sign-in request: { userId, name, roles }; throws with what is wrong. */
export function devTokenRequest(body: unknown): Caller {
  const b = (body ?? {}) as Record<string, unknown>
  const text = (v: unknown, what: string) => {
    if (typeof v !== 'string' || v.trim() === '' || v.length > DEV_TOKEN_MAX_FIELD || hasControl(v))
      throw new Error(`${what} must be 1 to ${DEV_TOKEN_MAX_FIELD} printable characters`)
    return v.trim()
  }
  const userId = text(b.userId, 'userId')
  const name = b.name === undefined || b.name === '' ? userId : text(b.name, 'name')
  if (!Array.isArray(b.roles) || b.roles.length === 0 || !b.roles.every(r => (ROLES as readonly unknown[]).includes(r)))
    throw new Error(`roles must be a non-empty array of ${ROLES.join(', ')}`)
  return { userId, name, roles: [...new Set(b.roles as Role[])] }
}

/** The routes to hand the router's HTTP service. */
export function webAppRoutes(config: WebAppConfig, jwtSecret: string): Record<string, RouteHandler> {
  const index = path.join(config.dir, 'index.html')
  const sendFile = (res: ServerResponse, file: string, cache: string) => {
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': cache,
      'x-content-type-options': 'nosniff',
    })
    res.end(readFileSync(file))
  }
  const routes: Record<string, RouteHandler> = {
    'GET /': (_req, res) => {
      if (!existsSync(index)) {
        res.writeHead(503, { 'content-type': 'text/html; charset=utf-8' })
        res.end(
          '<!doctype html><title>GDmarket</title><p>The web app is not built: run <code>npm run build -w web</code>.</p>',
        )
        return
      }
      // index.html names the hashed assets of this build: never cached.
      sendFile(res, index, 'no-cache')
    },
    'GET /assets/*': (req, res) => {
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      const file = path.resolve(config.dir, `.${pathname}`)
      const assets = path.join(config.dir, 'assets') + path.sep
      if (!file.startsWith(assets) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end()
        return
      }
      // Vite names every asset by its content hash.
      sendFile(res, file, 'public, max-age=31536000, immutable')
    },
    'GET /web-config.json': (_req, res) =>
      json(res, 200, { devSignIn: config.devTokens, identityProviderUrl: config.identityProviderUrl }),
  }
  if (config.devTokens)
    routes['POST /dev/token'] = async (req, res) => {
      let who: ReturnType<typeof devTokenRequest>
      try {
        who = devTokenRequest(await readJson(req, DEV_TOKEN_MAX_BODY))
      } catch (e) {
        json(res, 400, { error: (e as Error).message })
        return
      }
      json(res, 200, { token: await signToken(who, jwtSecret, { expiresIn: config.devTokenTtlS }) })
    }
  return routes
}

// Mints a token the router accepts: npm run token -- <userId> <name> <roles> [--expires <span>]
//   roles comma-separated (owner,renter); span like 2h, 7d or seconds (default 24h, or
//   JWT_MAX_LIFETIME_S if shorter). Signed with JWT_SECRET (the development default when unset),
//   with JWT_ISSUER / JWT_AUDIENCE when set: the same environment the router reads.
import { parseArgs } from 'node:util'
import { readConfig } from '@gdmarket/platform/config'
import { ROLES, type Role } from '@gdmarket/platform/identity'
import { decodeJwt } from 'jose'
import { readTokenPolicy, signToken } from '../router/src/auth.js'

const usage = 'usage: npm run token -- <userId> <name> <roles, comma-separated: owner,renter> [--expires 24h]'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { expires: { type: 'string', short: 'e' } },
})
const [userId, name, rolesArg] = positionals
if (!userId || !name || rolesArg === undefined || positionals.length > 3) {
  console.error(usage)
  process.exit(2)
}
const roles = rolesArg
  .split(',')
  .map(r => r.trim())
  .filter(Boolean)
const unknown = roles.filter(r => !(ROLES as readonly string[]).includes(r))
if (unknown.length) {
  console.error(`unknown role(s) ${unknown.join(', ')}; roles are ${ROLES.join(', ')}\n${usage}`)
  process.exit(2)
}
// Minting needs no production secret check: the token is only as good as the secret it is signed with.
const policy = readConfig(r => readTokenPolicy(r, 'development'))
const expiresIn = values.expires && /^\d+$/.test(values.expires) ? Number(values.expires) : values.expires
const token = await signToken({ userId, name, roles: roles as Role[] }, policy, { expiresIn })
const { exp = 0, iat = 0 } = decodeJwt(token)
if (exp - iat > policy.maxLifetimeSeconds) {
  console.error(`--expires ${values.expires} is longer than JWT_MAX_LIFETIME_S (${policy.maxLifetimeSeconds} s) allows`)
  process.exit(2)
}
console.log(token)

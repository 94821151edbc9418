// Mints a development token: npm run token -- <userId> <name> <roles> [--expires <span>]
//   roles comma-separated (owner,renter); span like 2h, 7d or seconds (default 24h).
// Signed with JWT_SECRET, or the development default when it is unset.
import { parseArgs } from 'node:util'
import { DEV_JWT_SECRET } from '@gdmarket/platform/config'
import { ROLES, type Role } from '@gdmarket/platform/identity'
import { signToken } from '../router/src/auth.js'

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
const expiresIn = values.expires && /^\d+$/.test(values.expires) ? Number(values.expires) : (values.expires ?? '24h')
const secret = process.env.JWT_SECRET || DEV_JWT_SECRET
console.log(await signToken({ userId, name, roles: roles as Role[] }, secret, { expiresIn }))

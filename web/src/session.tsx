// Who is using the app. In development the router mints tokens for a chosen person (POST
// /dev/token, off in production); in production the token comes from the identity provider,
// which sends the browser back with #access_token=<jwt>.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react'

export type Role = 'owner' | 'renter'
export interface Session {
  token: string
  userId: string
  name: string
  roles: Role[]
}
export interface WebConfig {
  devSignIn: boolean
  identityProviderUrl: string | null
}

const KEY = 'gdmarket.session'

/** The claims of a JWT, read (not verified: the router verifies every request). */
export function sessionFromToken(token: string): Session | null {
  try {
    const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')))
    if (typeof claims.sub !== 'string' || !Array.isArray(claims.roles)) return null
    return { token, userId: claims.sub, name: String(claims.name ?? claims.sub), roles: claims.roles }
  } catch {
    return null
  }
}

function stored(): Session | null {
  const fromIdp = new URLSearchParams(window.location.hash.slice(1)).get('access_token')
  if (fromIdp) {
    history.replaceState(null, '', window.location.pathname)
    const s = sessionFromToken(fromIdp)
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s))
    return s
  }
  const raw = sessionStorage.getItem(KEY)
  return raw ? (JSON.parse(raw) as Session) : null
}

interface SessionState {
  session: Session | null
  signIn(s: Session): void
  signOut(): void
}
const SessionContext = createContext<SessionState>({ session: null, signIn() {}, signOut() {} })
export const useSession = () => useContext(SessionContext)

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(stored)
  const state: SessionState = {
    session,
    signIn(s) {
      sessionStorage.setItem(KEY, JSON.stringify(s))
      setSession(s)
    },
    signOut() {
      sessionStorage.removeItem(KEY)
      setSession(null)
    },
  }
  return <SessionContext.Provider value={state}>{children}</SessionContext.Provider>
}

const PEOPLE: { userId: string; name: string; roles: Role[]; what: string }[] = [
  { userId: 'owner-1', name: 'Olivia', roles: ['owner'], what: 'owner' },
  { userId: 'renter-1', name: 'YoungEun', roles: ['renter'], what: 'renter' },
  { userId: 'renter-2', name: 'Minho', roles: ['renter'], what: 'renter' },
  { userId: 'both-1', name: 'Jisoo', roles: ['owner', 'renter'], what: 'owner and renter' },
]

export function SignIn({ config }: { config: WebConfig | null }) {
  const { signIn } = useSession()
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [custom, setCustom] = useState({ userId: '', name: '', owner: true, renter: true })
  useEffect(() => setError(null), [])

  async function mint(p: { userId: string; name: string; roles: Role[] }) {
    setBusy(true)
    setError(null)
    try {
      const res = await fetch('/dev/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(p),
      })
      const body = await res.json()
      if (!res.ok) throw new Error(body.error ?? `the router answered ${res.status}`)
      const s = sessionFromToken(body.token)
      if (!s) throw new Error('the token could not be read')
      signIn(s)
    } catch (e) {
      setError(`Could not sign in: ${e instanceof Error ? e.message : String(e)}`)
    } finally {
      setBusy(false)
    }
  }

  if (!config) return <p aria-busy="true">Loading…</p>
  if (!config.devSignIn)
    return (
      <section aria-labelledby="signin-title" className="card">
        <h2 id="signin-title">Sign in</h2>
        <p>GDmarket takes your sign-in from your identity provider.</p>
        {config.identityProviderUrl ? (
          <a className="button" href={config.identityProviderUrl}>
            Sign in with your identity provider
          </a>
        ) : (
          <p>No identity provider is configured for this site; ask its operator.</p>
        )}
      </section>
    )
  return (
    <section aria-labelledby="signin-title" className="card">
      <h2 id="signin-title">Sign in as… (development only)</h2>
      <p className="hint">
        This picker exists only in development: the router mints a token for whoever you choose. In production the
        sign-in comes from the identity provider.
      </p>
      <ul className="people">
        {PEOPLE.map(p => (
          <li key={p.userId}>
            <button type="button" disabled={busy} onClick={() => mint(p)}>
              {p.name}{' '}
              <span className="hint">
                ({p.what}, {p.userId})
              </span>
            </button>
          </li>
        ))}
      </ul>
      <form
        onSubmit={e => {
          e.preventDefault()
          const roles = [custom.owner && 'owner', custom.renter && 'renter'].filter(Boolean) as Role[]
          void mint({ userId: custom.userId.trim(), name: custom.name.trim() || custom.userId.trim(), roles })
        }}
      >
        <fieldset>
          <legend>Someone else</legend>
          <label>
            User id{' '}
            <input required value={custom.userId} onChange={e => setCustom({ ...custom, userId: e.target.value })} />
          </label>
          <label>
            Name <input value={custom.name} onChange={e => setCustom({ ...custom, name: e.target.value })} />
          </label>
          <label className="inline">
            <input
              type="checkbox"
              checked={custom.owner}
              onChange={e => setCustom({ ...custom, owner: e.target.checked })}
            />{' '}
            owner
          </label>
          <label className="inline">
            <input
              type="checkbox"
              checked={custom.renter}
              onChange={e => setCustom({ ...custom, renter: e.target.checked })}
            />{' '}
            renter
          </label>
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </fieldset>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  )
}

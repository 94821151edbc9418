import { ApolloProvider } from '@apollo/client/react'
import { useEffect, useMemo, useRef, useState } from 'react'
import { makeClient } from './apollo'
import { Board } from './owner/Board'
import { RegisterItem } from './owner/RegisterItem'
import { FindNear } from './renter/FindNear'
import { MyReservations } from './renter/MyReservations'
import { SessionProvider, SignIn, useSession, type WebConfig } from './session'

type Tab = 'find' | 'reservations' | 'board' | 'register'

function Shell() {
  const { session, signOut } = useSession()
  const [config, setConfig] = useState<WebConfig | null>(null)
  const client = useMemo(() => makeClient(session?.token ?? null), [session?.token])
  const isOwner = session?.roles.includes('owner') ?? false
  const isRenter = session?.roles.includes('renter') ?? false
  const [tab, setTab] = useState<Tab>(isOwner && !isRenter ? 'board' : 'find')
  const main = useRef<HTMLElement>(null)

  useEffect(() => {
    fetch('/web-config.json')
      .then(r => r.json())
      .then(setConfig, () => setConfig({ devSignIn: false, identityProviderUrl: null }))
  }, [])
  useEffect(() => setTab(isOwner && !isRenter ? 'board' : 'find'), [isOwner, isRenter])
  useEffect(() => () => void client.stop(), [client])

  const tabs: [Tab, string, boolean][] = [
    ['find', 'Find near me', true],
    ['reservations', 'My reservations', isRenter],
    ['board', 'My board', isOwner],
    ['register', 'Register an item', isOwner],
  ]
  const go = (t: Tab) => {
    setTab(t)
    main.current?.focus()
  }
  return (
    <ApolloProvider client={client}>
      <header className="top">
        <h1>
          GDmarket <span lang="ko">근대마켓</span>
        </h1>
        {session && (
          <p className="who">
            Signed in as <strong>{session.name}</strong> ({session.roles.join(', ')}){' '}
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </p>
        )}
      </header>
      {session ? (
        <>
          <nav aria-label="Sections">
            {tabs
              .filter(([, , shown]) => shown)
              .map(([t, label]) => (
                <button key={t} type="button" aria-current={tab === t ? 'page' : undefined} onClick={() => go(t)}>
                  {label}
                </button>
              ))}
          </nav>
          <main ref={main} tabIndex={-1}>
            {tab === 'find' && <FindNear canReserve={isRenter} />}
            {tab === 'reservations' && <MyReservations />}
            {tab === 'board' && <Board ownerId={session.userId} token={session.token} />}
            {tab === 'register' && <RegisterItem onRegistered={() => go('board')} />}
          </main>
        </>
      ) : (
        <main ref={main} tabIndex={-1}>
          <SignIn config={config} />
        </main>
      )}
    </ApolloProvider>
  )
}

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  )
}

// The operator's view of the dead letters (`npm run deadletters`): list them, show one, replay one
// or all. A replay publishes the original event again on its original subject (message id
// `replay:<dead-letter seq>`, so a replay repeated within the duplicate window is dropped) and then
// deletes the dead letter, so it can be replayed only once. The consumers' handlers apply an event
// once (markApplied); the dead-lettering consumer recorded it as dead, not applied, so the replay
// applies there, and consumers that had applied it skip it.
import type { JetStreamClient, JetStreamManager, StoredMsg } from 'nats'
import { deadLetterStream } from './bus.js'

export interface DeadLetter {
  /** The dead letter's id: its sequence in the dead-letter stream. */
  id: number
  at: string
  consumer: string
  originalSubject: string
  originalSeq: string
  error: string
  eventId: string | null
  eventType: string | null
  data: string
}

function read(m: StoredMsg): DeadLetter {
  const data = m.string()
  let event: { id?: unknown; type?: unknown } = {}
  try {
    event = JSON.parse(data) as typeof event
  } catch {
    // unreadable payload: shown as it is
  }
  const h = (name: string) => m.header?.get(name) ?? ''
  return {
    id: m.seq,
    at: m.time.toISOString(),
    consumer: h('Gdmarket-Consumer') || m.subject.split('.').pop() || '',
    originalSubject: h('Gdmarket-Original-Subject'),
    originalSeq: h('Gdmarket-Original-Seq'),
    error: h('Gdmarket-Error'),
    eventId: typeof event.id === 'string' ? event.id : null,
    eventType: typeof event.type === 'string' ? event.type : null,
    data,
  }
}

export async function listDeadLetters(jsm: JetStreamManager, stream: string): Promise<DeadLetter[]> {
  const name = deadLetterStream(stream)
  const { state } = await jsm.streams.info(name)
  const out: DeadLetter[] = []
  for (let seq = state.first_seq; state.messages && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(name, { seq }).catch(() => undefined) // deleted (replayed)
    if (m) out.push(read(m))
  }
  return out
}

export async function showDeadLetter(jsm: JetStreamManager, stream: string, id: number): Promise<DeadLetter> {
  return read(await jsm.streams.getMessage(deadLetterStream(stream), { seq: id }))
}

/** Replays the dead letters given (or every one); returns the ids replayed. */
export async function replayDeadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  which: number | 'all',
): Promise<number[]> {
  const letters = which === 'all' ? await listDeadLetters(jsm, stream) : [await showDeadLetter(jsm, stream, which)]
  const replayed: number[] = []
  for (const letter of letters) {
    if (!letter.originalSubject) throw new Error(`dead letter ${letter.id} has no original subject`)
    await js.publish(letter.originalSubject, letter.data, { msgID: `replay:${deadLetterStream(stream)}:${letter.id}` })
    await jsm.streams.deleteMessage(deadLetterStream(stream), letter.id, false)
    replayed.push(letter.id)
  }
  return replayed
}

import { describe, expect, it } from '@jest/globals'
import { consumer, dispatch, handledTypes, subjectFilter, type EventHandlers } from './consumer.js'
import { createEvent, eitherCatalogue, eventCatalogue } from './events.js'

interface Shelf {
  BookShelved: { title: string }
  BookLent: { title: string; to: string }
  BookLost: { title: string }
}
interface Till {
  Paid: { amount: number }
}
const shelf = eventCatalogue<Shelf>('shelf')
const till = eventCatalogue<Till>('till')
const event = <K extends keyof Shelf & string>(type: K, data: Shelf[K]) =>
  createEvent({ type, aggregateId: 'a', aggregateVersion: 1, data, cause: { correlationId: 'c' } })

describe('a consumer declared by its handler table', () => {
  it('derives its subject filter from the table', () => {
    const noop = async () => undefined
    expect(subjectFilter({ catalogue: shelf, handlers: { BookLent: noop } })).toBe('shelf.BookLent')
    expect(subjectFilter({ catalogue: shelf, handlers: { BookLent: noop, BookLost: noop } })).toBe('shelf.*')
    expect(subjectFilter({ catalogue: eitherCatalogue(shelf, till), handlers: { BookLent: noop, Paid: noop } })).toBe(
      '*.*',
    )
    expect(handledTypes<Shelf>({ BookLent: noop, BookLost: noop })).toEqual(['BookLent', 'BookLost'])
  })

  it('gives each event to its own handler and skips the types the table does not list', async () => {
    const seen: string[] = []
    const handlers: EventHandlers<Shelf> = {
      BookLent: async e => {
        seen.push(`${e.data.title} to ${e.data.to}`)
      },
      BookLost: async e => {
        seen.push(`lost ${e.data.title}`)
      },
    }
    const handle = dispatch(handlers)
    await handle(event('BookShelved', { title: 'Dune' }), { seq: 1 })
    await handle(event('BookLent', { title: 'Dune', to: 'Kim' }), { seq: 2 })
    await handle(event('BookLost', { title: 'Emma' }), { seq: 3 })
    // a type nothing declares, as it could arrive from the wire; and an inherited name
    await handle({ ...event('BookLost', { title: 'x' }), type: 'toString' }, { seq: 4 })
    expect(seen).toEqual(['Dune to Kim', 'lost Emma'])
  })

  it('keeps the durable name and the ordering key', () => {
    const declared = consumer({
      durable: 'library',
      catalogue: shelf,
      handlers: { BookLent: async () => undefined },
      keyOf: e => e.data.title,
    })
    expect(declared.durable).toBe('library')
    expect(declared.events).toBe('shelf.BookLent')
    expect(declared.keyOf?.(event('BookLent', { title: 'Dune', to: 'Kim' }))).toBe('Dune')
  })

  it('says which types it handles, so the others are settled on arrival', () => {
    const declared = consumer({ durable: 'library', catalogue: shelf, handlers: { BookLent: async () => undefined } })
    expect(declared.handles?.('BookLent')).toBe(true)
    expect(declared.handles?.('BookLost')).toBe(false)
    expect(declared.handles?.('toString')).toBe(false)
  })
})

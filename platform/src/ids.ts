// Ids of the rows GDmarket creates: UUID version 7 (RFC 9562), whose first 48 bits are the Unix
// time in milliseconds, so ids sort by creation. Lists are paged newest first by id: `after: <id>`
// is then one index range (`id < after`), with no cursor table and no second lookup.
import { randomBytes } from 'node:crypto'

let lastMs = 0
let counter = 0

// Random bytes drawn from the system in blocks, not per id (each draw is a call into OpenSSL).
const POOL_BYTES = 4096
let pool = Buffer.alloc(0)
let taken = 0
function random(n: number): Buffer {
  if (taken + n > pool.length) {
    pool = randomBytes(POOL_BYTES)
    taken = 0
  }
  taken += n
  return pool.subarray(taken - n, taken)
}

/**
 * A new UUIDv7. Within one process ids are strictly increasing even inside one millisecond: the
 * 12 bits after the version carry a counter seeded at random (RFC 9562 §6.2, method 1), and a
 * counter overflow borrows the next millisecond. Across processes the order is the clocks' order.
 */
export function newId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now
    counter = random(2).readUInt16BE() & 0x7ff // top bit clear: room to count up
  } else if (++counter > 0xfff) {
    lastMs += 1
    counter = 0
  }
  const bytes = Buffer.from(random(16))
  bytes.writeUIntBE(lastMs, 0, 6)
  bytes[6] = 0x70 | (counter >> 8)
  bytes[7] = counter & 0xff
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

// Structured logs: JSON lines with the service name on every record, for whatever collects them.
// A person running one service on a terminal gets readable coloured lines instead (pino-pretty, a
// development dependency: an image built without it logs JSON, TTY or not).
import { createRequire } from 'node:module'
import { pino, type Logger } from 'pino'
import type { PrettyOptions } from 'pino-pretty'

export type { Logger }

export type LogFormat = 'json' | 'pretty'

/** How records read on a terminal; `scripts/start-all.ts` shows its children's JSON lines the same way. */
export const PRETTY_OPTIONS: PrettyOptions = {
  colorize: true,
  ignore: 'pid,hostname',
  translateTime: 'SYS:HH:MM:ss',
}

/** Readable for a person at a terminal, JSON for everything else (a pipe, a file, a collector). */
export function logFormat(stdout: { isTTY?: boolean }): LogFormat {
  return stdout.isTTY === true ? 'pretty' : 'json'
}

type PrettyStream = (options: PrettyOptions) => NodeJS.WritableStream

/** pino-pretty where it is installed, null where it is not (a production image). */
function loadPretty(): PrettyStream | null {
  try {
    return createRequire(import.meta.url)('pino-pretty') as PrettyStream
  } catch {
    return null
  }
}

export function createLogger(service: string, level: string): Logger {
  const options = { level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime }
  const pretty = logFormat(process.stdout) === 'pretty' ? loadPretty() : null
  // Synchronous, as pino's own stdout destination is: nothing is lost when the process exits.
  return pretty ? pino(options, pretty({ ...PRETTY_OPTIONS, sync: true })) : pino(options)
}

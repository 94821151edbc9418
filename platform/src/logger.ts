import { pino, type Logger } from 'pino'

export type { Logger }

/** JSON logs, one line per record, with the service name on every line. */
export function createLogger(service: string, level: string): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime })
}

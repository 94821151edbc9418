// npm run deadletters -- list | show <id> | replay <id|all>
// Same environment as the services: NATS_URL, NATS_STREAM, NATS_USER/NATS_PASSWORD or NATS_TOKEN.
import { connect } from 'nats'
import { readConfig, readNatsAuth } from '@gdmarket/platform/config'
import { listDeadLetters, replayDeadLetters, showDeadLetter } from '@gdmarket/platform/dead-letters'
import { main } from '@gdmarket/platform/service'

const USAGE = 'usage: npm run deadletters -- list | show <id> | replay <id|all>'

main(async () => {
  const [command, arg] = process.argv.slice(2)
  const config = readConfig(r => ({
    natsUrl: r.string('NATS_URL', 'nats://127.0.0.1:4222'),
    stream: r.string('NATS_STREAM', 'GDMARKET'),
    auth: readNatsAuth(r),
  }))
  const id = arg === 'all' ? 'all' : Number(arg)
  if (
    !['list', 'show', 'replay'].includes(command ?? '') ||
    (command !== 'list' && id !== 'all' && !Number.isInteger(id)) ||
    (command === 'show' && id === 'all')
  )
    throw new Error(USAGE)
  const nc = await connect({ servers: config.natsUrl, name: 'deadletters', ...config.auth })
  try {
    const jsm = await nc.jetstreamManager()
    if (command === 'list') {
      const letters = await listDeadLetters(jsm, config.stream)
      for (const l of letters)
        console.log(
          `${l.id}\t${l.at}\t${l.consumer}\t${l.eventType ?? '(unreadable)'}\t${l.eventId ?? '-'}\t${l.error}`,
        )
      console.log(`${letters.length} dead letter(s) in ${config.stream}`)
    } else if (command === 'show') {
      console.log(JSON.stringify(await showDeadLetter(jsm, config.stream, id as number), null, 2))
    } else {
      const replayed = await replayDeadLetters(nc.jetstream(), jsm, config.stream, id as number | 'all')
      console.log(`replayed ${replayed.length}: ${replayed.join(', ') || 'none'}`)
    }
  } finally {
    await nc.close()
  }
})

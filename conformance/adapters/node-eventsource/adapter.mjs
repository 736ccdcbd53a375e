// The `eventsource` package (a WHATWG EventSource for Node) in client mode
// (conformance/PROTOCOL.md).
//
// Like a browser's EventSource it cannot start from a given last event ID,
// use another method or start with another reconnection time (3 s until a
// `retry:` field says otherwise), reports `lastEventId` but not each
// event's own id, and an `error` event does not say why a connection failed.
import { EventSource } from 'eventsource'
import { createInterface } from 'node:readline'
import { createRequire } from 'node:module'

const version = createRequire(import.meta.url)('eventsource/package.json').version
const out = (message) => process.stdout.write(JSON.stringify(message) + '\n')
const STATES = ['connecting', 'open', 'closed']

out({ hello: `eventsource ${version}`, client: { default_reconnect_ms: 3000 } })

let source
const input = createInterface({ input: process.stdin })
input.on('close', () => {
  source?.close()
  process.exit(0)
})
input.on('line', (line) => {
  if (!line.trim() || source) return
  const { connect } = JSON.parse(line)
  source = new EventSource(connect.url)
  const state = () => STATES[source.readyState]
  source.addEventListener('open', () => out({ report: 'open', ready_state: state() }))
  source.addEventListener('error', (e) =>
    out({ report: 'error', message: String(e.message ?? ''), ready_state: state() }),
  )
  for (const type of connect.event_types ?? ['message']) {
    source.addEventListener(type, (e) =>
      out({ report: 'event', type: e.type, data: e.data, last_event_id: e.lastEventId, ready_state: state() }),
    )
  }
})

// eventsource-parser in parser mode (conformance/PROTOCOL.md).
//
// The bytes are decoded the way the `eventsource` package feeds this parser:
// one streaming TextDecoder (UTF-8, a leading BOM dropped, U+FFFD for bad
// bytes). The parser reports each event's own `id` (it keeps no last event
// ID), `retry` values and comments; it has no limits.
import { createParser } from 'eventsource-parser'
import { createInterface } from 'node:readline'
import { createRequire } from 'node:module'

const version = createRequire(import.meta.url)('eventsource-parser/package.json').version
const out = (message) => process.stdout.write(JSON.stringify(message) + '\n')

out({
  hello: `eventsource-parser ${version}`,
  parser: { comments: true, retry: true, event_id: true, incremental: true },
})

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue
  const { parse } = JSON.parse(line)
  let frames = []
  const parser = createParser({
    onEvent: (e) => frames.push({ event: { type: e.event ?? 'message', data: e.data, id: e.id ?? null } }),
    onRetry: (ms) => frames.push({ retry: ms }),
    onComment: (text) => frames.push({ comment: text }),
  })
  const decoder = new TextDecoder()
  const outputs = []
  for (const chunk of parse.chunks) {
    parser.feed(decoder.decode(Buffer.from(chunk, 'base64'), { stream: true }))
    outputs.push(frames)
    frames = []
  }
  parser.feed(decoder.decode()) // end of stream: the decoder's last replacement character, if any
  outputs.push(frames)
  out({ outputs })
}

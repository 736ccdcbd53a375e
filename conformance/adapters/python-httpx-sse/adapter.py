"""httpx-sse in parser mode (conformance/PROTOCOL.md).

Each `parse` request becomes an httpx.Response whose body stream yields the
request's chunks; httpx-sse's own `EventSource(response).iter_sse()` reads it
(httpx decodes the bytes, httpx-sse splits lines and interprets fields), as
it would read a network response. An event is attributed to the chunk that
was last handed over when it came out. httpx-sse reports the last event ID
on each event (`sse.id`), not the block's own id; `retry` only as an
attribute of the next event and no comments, so neither is declared.
Client mode is not offered: httpx-sse reads one response and never
reconnects, so there is no EventSource behaviour to test.
"""

import base64
import json
import sys
from importlib.metadata import version

import httpx
import httpx_sse


def out(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Chunks(httpx.SyncByteStream):
    def __init__(self, chunks, state):
        self.chunks, self.state = chunks, state

    def __iter__(self):
        for index, chunk in enumerate(self.chunks):
            self.state["fed"] = index
            yield chunk
        self.state["fed"] = len(self.chunks)  # the end of the stream


def parse(request):
    chunks = [base64.b64decode(chunk) for chunk in request["chunks"]]
    state = {"fed": 0}
    outputs = [[] for _ in range(len(chunks) + 1)]
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=Chunks(chunks, state)
    )
    last_event_id = ""
    for sse in httpx_sse.EventSource(response).iter_sse():
        event = {"type": sse.event, "data": sse.data, "last_event_id": sse.id}
        outputs[state["fed"]].append({"event": event})
        last_event_id = sse.id
    # The last event ID is only visible on events: the last one's stands.
    return {"outputs": outputs, "last_event_id": last_event_id}


def main():
    out({"hello": f"httpx-sse {version('httpx-sse')} (httpx {version('httpx')})",
         "parser": {"last_event_id": True, "incremental": True}})
    for line in sys.stdin:
        if line.strip():
            out(parse(json.loads(line)["parse"]))


main()

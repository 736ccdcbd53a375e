//! WHATWG text/event-stream conformance vectors, reference model and harness.
#![forbid(unsafe_code)]

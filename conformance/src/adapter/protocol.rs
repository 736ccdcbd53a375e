//! The messages of the adapter protocol (conformance/PROTOCOL.md).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::harness::Capabilities;
use crate::vectors::{ErrorFrame, EventFrame, Frame};

/// The adapter's first line: `{"hello": "name version", "parser": {...}, "client": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Hello {
    /// The implementation's name and version.
    pub hello: String,
    /// Present if the adapter speaks parser mode: what it can report.
    #[serde(default)]
    pub parser: Option<Capabilities>,
    /// Present if the adapter speaks client mode: what it can do.
    #[serde(default)]
    pub client: Option<ClientCaps>,
}

/// Client-mode capabilities; each absent flag is `false`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ClientCaps {
    /// Honours `reconnect_ms` in `connect` (the initial reconnection time).
    pub initial_reconnect_ms: bool,
    /// The reconnection time the client starts with when it cannot be set
    /// (WHATWG suggests a few seconds). Required without `initial_reconnect_ms`.
    pub default_reconnect_ms: Option<u64>,
    /// Honours `last_event_id` in `connect` (the initial last event ID).
    pub last_event_id: bool,
    /// Honours `method` in `connect`.
    pub method: bool,
    /// Reports each event's own `id` field (an `EventSource` reports only `lastEventId`).
    pub event_id: bool,
    /// Reports comments.
    pub comments: bool,
    /// Says why a connection failed (`reason`: `status` or `content_type`).
    pub fail_reason: bool,
}

impl ClientCaps {
    /// The reconnection time the client will start with for a case asking for `wanted`.
    pub fn effective_reconnect_ms(&self, wanted: u64) -> u64 {
        if self.initial_reconnect_ms {
            wanted
        } else {
            self.default_reconnect_ms.unwrap_or(wanted)
        }
    }
}

/// A frame as an adapter writes it: the vectors' frame JSON, with `type`,
/// `id` and `last_event_id` of an event optional (default `message`, none, empty).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEvent {
    #[serde(default, rename = "type")]
    event_type: Option<String>,
    data: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    last_event_id: Option<String>,
}

/// An event as the runner compares it.
fn event_frame(value: &Value) -> Option<EventFrame> {
    let wire: WireEvent = serde_json::from_value(value.clone()).ok()?;
    Some(EventFrame {
        event_type: wire.event_type.unwrap_or_else(|| "message".to_owned()),
        data: wire.data,
        id: wire.id,
        last_event_id: wire.last_event_id.unwrap_or_default(),
    })
}

/// Reads one frame an adapter wrote; anything not recognised becomes
/// [`Frame::Other`] (always a mismatch), so a typo is a visible failure.
pub fn frame(value: &Value) -> Frame {
    let object = value.as_object().filter(|object| object.len() == 1);
    let parsed = object.and_then(|object| {
        let (key, inner) = object.iter().next()?;
        match key.as_str() {
            "event" => event_frame(inner).map(Frame::Event),
            "retry" => inner.as_u64().map(Frame::Retry),
            "comment" => inner.as_str().map(|text| Frame::Comment(text.to_owned())),
            "error" => serde_json::from_value::<ErrorFrame>(inner.clone())
                .ok()
                .map(Frame::Error),
            _ => None,
        }
    });
    parsed.unwrap_or_else(|| Frame::Other(value.to_string()))
}

/// A client-mode report, read from one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What happened.
    pub kind: ReportKind,
    /// The ready state after it (`connecting`, `open`, `closed`), if given.
    pub ready_state: Option<String>,
}

/// What a client-mode report says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportKind {
    /// The connection opened.
    Open,
    /// An event was dispatched.
    Event(EventFrame),
    /// A comment arrived.
    Comment(String),
    /// An error: with ready state `connecting` a reconnection follows, with
    /// `closed` the connection failed.
    Error {
        /// `status`, `content_type` or another word, if the client says.
        reason: Option<String>,
    },
    /// Only the ready state changed.
    ReadyState,
    /// A line the protocol has no name for.
    Unknown(String),
}

/// Reads one client-mode report.
pub fn report(value: &Value) -> Report {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let ready_state = text("ready_state");
    let kind = match value.get("report").and_then(Value::as_str) {
        Some("open") => ReportKind::Open,
        Some("event") => match event_frame(&strip(value, &["report", "ready_state"])) {
            Some(event) => ReportKind::Event(event),
            None => ReportKind::Unknown(value.to_string()),
        },
        Some("comment") => match text("comment") {
            Some(comment) => ReportKind::Comment(comment),
            None => ReportKind::Unknown(value.to_string()),
        },
        Some("error") => ReportKind::Error {
            reason: text("reason"),
        },
        Some("ready_state") if ready_state.is_some() => ReportKind::ReadyState,
        _ => ReportKind::Unknown(value.to_string()),
    };
    Report { kind, ready_state }
}

fn strip(value: &Value, keys: &[&str]) -> Value {
    let mut value = value.clone();
    if let Some(object) = value.as_object_mut() {
        for key in keys {
            object.remove(*key);
        }
        // `message` is informative only.
        object.remove("message");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_read_leniently_where_documented_and_strictly_elsewhere() {
        let event = frame(&json!({"event": {"data": "a"}}));
        let want = EventFrame {
            event_type: "message".into(),
            data: "a".into(),
            id: None,
            last_event_id: String::new(),
        };
        assert_eq!(event, Frame::Event(want));
        assert_eq!(frame(&json!({"retry": 5})), Frame::Retry(5));
        assert_eq!(frame(&json!({"comment": "x"})), Frame::Comment("x".into()));
        assert!(matches!(frame(&json!({"retry": "5"})), Frame::Other(_)));
        assert!(matches!(
            frame(&json!({"evnt": {"data": "a"}})),
            Frame::Other(_)
        ));
        assert!(matches!(
            frame(&json!({"event": {"data": "a", "extra": 1}})),
            Frame::Other(_)
        ));
    }

    #[test]
    fn parser_capabilities_default_to_false_and_refuse_unknown_flags() {
        let hello: Hello =
            serde_json::from_value(json!({"hello": "p", "parser": {"comments": true}})).unwrap();
        let want = Capabilities {
            comments: true,
            ..Capabilities::default()
        };
        assert_eq!(hello.parser, Some(want));
        assert!(hello.client.is_none());
        let typo = json!({"hello": "p", "parser": {"comment": true}});
        assert!(serde_json::from_value::<Hello>(typo).is_err());
    }

    #[test]
    fn reports() {
        let open = report(&json!({"report": "open", "ready_state": "open"}));
        assert_eq!(open.kind, ReportKind::Open);
        let event = report(
            &json!({"report": "event", "data": "a", "last_event_id": "1",
                                   "ready_state": "open"}),
        );
        assert!(matches!(event.kind, ReportKind::Event(ref e) if e.last_event_id == "1"));
        let error = report(
            &json!({"report": "error", "ready_state": "closed", "reason": "status",
                                   "message": "204"}),
        );
        assert_eq!(error.ready_state.as_deref(), Some("closed"));
        assert!(matches!(
            report(&json!({"report": "opn"})).kind,
            ReportKind::Unknown(_)
        ));
    }
}

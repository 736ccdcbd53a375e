//! How events are printed: NDJSON for programs, a coloured layout for people.

use std::io::{self, IsTerminal, Write};

use bourn_codec::MessageEvent;
use serde_json::{Value, json};

use crate::cli::Color;

/// The NDJSON object of an event: `type`, `data`, `id` (null without an
/// `id` field) and `last_event_id`.
pub fn event_json(event: &MessageEvent) -> Value {
    json!({
        "type": event.event_type(),
        "data": event.data(),
        "id": event.id(),
        "last_event_id": event.last_event_id(),
    })
}

/// Writes `value` as one line.
pub fn write_json_line(out: &mut impl Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// How `bourn listen` prints events.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// NDJSON, or the human layout.
    pub json: bool,
    /// ANSI colours in the human layout.
    pub color: bool,
}

impl Style {
    /// NDJSON with `--json` or when stdout is not a terminal (unless
    /// `--human`); colours on a terminal unless `NO_COLOR` is set or
    /// `--color` says otherwise.
    pub fn choose(json: bool, human: bool, color: Color) -> Style {
        let tty = io::stdout().is_terminal();
        let json = json || (!human && !tty);
        let color = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        Style { json, color }
    }

    /// Writes one event.
    pub fn write_event(&self, out: &mut impl Write, event: &MessageEvent) -> io::Result<()> {
        if self.json {
            return write_json_line(out, &event_json(event));
        }
        let (bold, dim, reset) = if self.color {
            ("\x1b[1;36m", "\x1b[2m", "\x1b[0m")
        } else {
            ("", "", "")
        };
        write!(out, "{bold}{}{reset}", event.event_type())?;
        match event.id() {
            Some(id) => write!(out, " {dim}id {id}{reset}")?,
            None if !event.last_event_id().is_empty() => {
                write!(out, " {dim}(last id {}){reset}", event.last_event_id())?;
            }
            None => {}
        }
        out.write_all(b"\n")?;
        for line in event.data().split('\n') {
            writeln!(out, "  {line}")?;
        }
        Ok(())
    }
}

/// Whether an output error only means the reader went away (`| head`).
pub fn is_broken_pipe(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
}

#[cfg(test)]
mod tests {
    use bourn_codec::{EventType, Id};

    use super::*;

    #[test]
    fn human_layout_without_colour() {
        let event = MessageEvent::new("one\ntwo")
            .with_event_type(EventType::from_static("tick"))
            .with_id(Id::from_static("a.1"));
        let style = Style {
            json: false,
            color: false,
        };
        let mut out = Vec::new();
        style.write_event(&mut out, &event).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "tick id a.1\n  one\n  two\n"
        );
    }

    #[test]
    fn json_layout() {
        let event = MessageEvent::new("hi");
        let mut out = Vec::new();
        write_json_line(&mut out, &event_json(&event)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"data\":\"hi\",\"id\":null,\"last_event_id\":\"\",\"type\":\"message\"}\n"
        );
    }
}

//! `bourn decode`: a captured `text/event-stream` to NDJSON frames, through
//! `bourn-codec`'s `Decoder` (the only parser in the workspace).

use std::fs::File;
use std::io::{self, Read, Write};

use bourn_codec::{DecodeError, Decoder, Frame};
use bytes::BytesMut;
use serde_json::{Value, json};

use crate::cli::DecodeArgs;
use crate::exit::{Code, Failure, Outcome};
use crate::output::{event_json, is_broken_pipe, write_json_line};

/// How much is read at a time without `--chunk`.
const READ_SIZE: usize = 64 * 1024;

/// Decodes the file (or stdin) as it is read, printing each frame at once,
/// so `curl -N URL | bourn decode` shows events live.
pub fn run(args: &DecodeArgs) -> Outcome {
    let input: Box<dyn Read> = match &args.file {
        None => Box::new(io::stdin().lock()),
        Some(path) if path.as_os_str() == "-" => Box::new(io::stdin().lock()),
        Some(path) => Box::new(
            File::open(path)
                .map_err(|error| Failure::error(format!("{}: {error}", path.display())))?,
        ),
    };
    let chunk = args
        .chunk
        .map_or(READ_SIZE, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match decode(input, &mut out, chunk, args.comments) {
        Ok(()) => Ok(Code::Ok),
        Err(error) if is_broken_pipe(&error) => Ok(Code::Ok),
        Err(error) => Err(Failure::error(error)),
    }
}

/// Feeds `input` to a decoder `chunk` bytes at a time (or fewer, as reads
/// return them) and writes one JSON line per frame.
fn decode(
    mut input: impl Read,
    out: &mut impl Write,
    chunk: usize,
    comments: bool,
) -> io::Result<()> {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut read_buf = vec![0; chunk.min(READ_SIZE)];
    loop {
        let n = match input.read(&mut read_buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        // A read may return more than one chunk's worth (when the chunk is
        // larger than a read, it simply is the read).
        for piece in read_buf[..n].chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(value) = next(&mut decoder, &mut buf, false, comments) {
                write_json_line(out, &value)?;
            }
        }
        out.flush()?;
    }
    while let Some(value) = next(&mut decoder, &mut buf, true, comments) {
        write_json_line(out, &value)?;
    }
    out.flush()
}

/// The next frame worth printing, as JSON; `None` when the decoder needs
/// more bytes (or, at the end, has nothing left).
fn next(decoder: &mut Decoder, buf: &mut BytesMut, eof: bool, comments: bool) -> Option<Value> {
    loop {
        let result = if eof {
            decoder.decode_eof(buf)
        } else {
            decoder.decode(buf)
        };
        let value = match result {
            Ok(None) => return None,
            Ok(Some(Frame::Event(event))) => event_json(&event),
            Ok(Some(Frame::Retry(retry))) => json!({ "retry": retry.as_millis() }),
            Ok(Some(Frame::Comment(comment))) if comments => json!({ "comment": &*comment }),
            Ok(Some(_)) => continue,
            Err(error) => error_json(error),
        };
        return Some(value);
    }
}

fn error_json(error: DecodeError) -> Value {
    json!({ "error": error.to_string(), "limit": error.limit(), "offset": error.offset() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], chunk: usize, comments: bool) -> Vec<String> {
        let mut out = Vec::new();
        decode(input, &mut out, chunk, comments).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn frames_are_the_same_at_every_chunk_size() {
        let input =
            b"\xEF\xBB\xBF: hi\r\nretry: 1500\nid: 7\nevent: tick\ndata: a\r\rdata: b\n\ndata: cut";
        let whole = lines(input, READ_SIZE, true);
        assert_eq!(
            whole,
            [
                r#"{"comment":"hi"}"#,
                r#"{"retry":1500}"#,
                r#"{"data":"a","id":"7","last_event_id":"7","type":"tick"}"#,
                r#"{"data":"b","id":null,"last_event_id":"7","type":"message"}"#,
            ]
        );
        for chunk in 1..input.len() {
            assert_eq!(lines(input, chunk, true), whole, "chunk {chunk}");
        }
        assert_eq!(lines(input, 3, false).len(), 3);
    }
}

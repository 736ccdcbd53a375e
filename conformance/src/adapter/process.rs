//! An adapter child process: JSON lines in over stdin, out over stdout, every
//! read bounded by a deadline, the process killed when it is dropped.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The longest line an adapter may write. Default: 16 MiB.
pub const MAX_LINE: usize = 16 << 20;

/// How much of the adapter's stderr is kept for error messages. Default: 2 KiB.
const STDERR_TAIL: usize = 2048;

/// Why talking to an adapter failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessError {
    /// The command could not be started.
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        error: String,
    },
    /// No line within the deadline.
    Timeout {
        /// What was awaited.
        waiting_for: String,
        /// The deadline.
        after: Duration,
        /// The end of the adapter's stderr.
        stderr: String,
    },
    /// The adapter closed stdout (exited or crashed).
    Exited {
        /// What was awaited.
        waiting_for: String,
        /// The exit status, if it has exited.
        status: Option<String>,
        /// The end of the adapter's stderr.
        stderr: String,
    },
    /// A line was not JSON, or was longer than [`MAX_LINE`].
    BadLine {
        /// The problem.
        problem: String,
        /// The start of the line.
        line: String,
    },
    /// Writing to the adapter's stdin failed.
    Write(String),
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = |stderr: &str| {
            if stderr.trim().is_empty() {
                String::new()
            } else {
                format!("; stderr: {}", stderr.trim())
            }
        };
        match self {
            ProcessError::Spawn { program, error } => {
                write!(f, "cannot start `{program}`: {error}")
            }
            ProcessError::Timeout {
                waiting_for,
                after,
                stderr,
            } => write!(
                f,
                "adapter timed out after {after:?} waiting for {waiting_for}{}",
                tail(stderr)
            ),
            ProcessError::Exited {
                waiting_for,
                status,
                stderr,
            } => write!(
                f,
                "adapter exited ({}) while the runner waited for {waiting_for}{}",
                status.as_deref().unwrap_or("still running, stdout closed"),
                tail(stderr)
            ),
            ProcessError::BadLine { problem, line } => {
                write!(f, "adapter wrote a bad line ({problem}): {line}")
            }
            ProcessError::Write(error) => write!(f, "writing to the adapter: {error}"),
        }
    }
}

impl std::error::Error for ProcessError {}

enum Line {
    Text(String),
    TooLong(String),
    Eof,
}

/// A running adapter.
pub struct Adapter {
    child: Child,
    /// Lines for the writer thread: an adapter that stops reading fills the
    /// pipe, and the runner must not block on it (the thread does).
    stdin: Option<Sender<Vec<u8>>>,
    lines: Receiver<Line>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl fmt::Debug for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter")
            .field("pid", &self.child.id())
            .finish()
    }
}

impl Adapter {
    /// Starts `command` (program and arguments).
    ///
    /// # Errors
    ///
    /// [`ProcessError::Spawn`] when the command is empty or cannot start.
    pub fn spawn(command: &[String]) -> Result<Adapter, ProcessError> {
        let (program, args) = command.split_first().ok_or_else(|| ProcessError::Spawn {
            program: String::new(),
            error: "no command given".to_owned(),
        })?;
        let mut command = Command::new(program);
        // Its own process group, so a wrapper's children (`sh -c`, `npx`)
        // are killed with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| ProcessError::Spawn {
                program: program.clone(),
                error: error.to_string(),
            })?;
        let (sender, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    let mut line = Vec::new();
                    let read = (&mut reader)
                        .take(MAX_LINE as u64 + 1)
                        .read_until(b'\n', &mut line);
                    let message = match read {
                        Ok(0) | Err(_) => Line::Eof,
                        Ok(_) if line.len() > MAX_LINE => {
                            Line::TooLong(String::from_utf8_lossy(&line[..200]).into_owned())
                        }
                        Ok(_) => Line::Text(String::from_utf8_lossy(&line).into_owned()),
                    };
                    let end = matches!(message, Line::Eof | Line::TooLong(_));
                    if sender.send(message).is_err() || end {
                        return;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let tail = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
                    tail.extend_from_slice(&buf[..n]);
                    let excess = tail.len().saturating_sub(STDERR_TAIL);
                    tail.drain(..excess);
                }
            });
        }
        let stdin = child.stdin.take().map(|mut pipe| {
            let (sender, lines) = mpsc::channel::<Vec<u8>>();
            thread::spawn(move || {
                // Ends, closing the pipe, when the sender is dropped or the adapter is gone.
                for line in lines {
                    if pipe.write_all(&line).and_then(|()| pipe.flush()).is_err() {
                        return;
                    }
                }
            });
            sender
        });
        Ok(Adapter {
            child,
            stdin,
            lines,
            stderr,
        })
    }

    /// Queues one message as a JSON line for the adapter's stdin.
    ///
    /// # Errors
    ///
    /// [`ProcessError::Write`] when stdin is closed (the adapter exited, or
    /// stopped reading and its pipe broke).
    pub fn send(&mut self, message: &Value) -> Result<(), ProcessError> {
        let stdin = self
            .stdin
            .as_ref()
            .ok_or_else(|| ProcessError::Write("stdin already closed".to_owned()))?;
        let mut line = message.to_string();
        line.push('\n');
        stdin
            .send(line.into_bytes())
            .map_err(|_| ProcessError::Write("the adapter's stdin is closed".to_owned()))
    }

    /// Reads the next JSON line, waiting until `deadline` at most. Blank
    /// lines are skipped.
    ///
    /// # Errors
    ///
    /// [`ProcessError::Timeout`], [`ProcessError::Exited`] or
    /// [`ProcessError::BadLine`].
    pub fn recv(&mut self, deadline: Instant, waiting_for: &str) -> Result<Value, ProcessError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Line::Text(text)) if text.trim().is_empty() => {}
                Ok(Line::Text(text)) => {
                    return serde_json::from_str(&text).map_err(|error| ProcessError::BadLine {
                        problem: error.to_string(),
                        line: text.chars().take(200).collect(),
                    });
                }
                Ok(Line::TooLong(start)) => {
                    return Err(ProcessError::BadLine {
                        problem: format!("longer than {MAX_LINE} bytes"),
                        line: start,
                    });
                }
                Ok(Line::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    // Give the stderr thread a moment to collect the last words.
                    thread::sleep(Duration::from_millis(20));
                    let status = self
                        .child
                        .try_wait()
                        .ok()
                        .flatten()
                        .map(|status| status.to_string());
                    return Err(ProcessError::Exited {
                        waiting_for: waiting_for.to_owned(),
                        status,
                        stderr: self.stderr_tail(),
                    });
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(ProcessError::Timeout {
                        waiting_for: waiting_for.to_owned(),
                        after: left,
                        stderr: self.stderr_tail(),
                    });
                }
            }
        }
    }

    /// Reads the next line if one arrives before `deadline`; `Ok(None)` when
    /// none did.
    ///
    /// # Errors
    ///
    /// As [`Adapter::recv`], except that a timeout is `Ok(None)`.
    pub fn try_recv(
        &mut self,
        deadline: Instant,
        waiting_for: &str,
    ) -> Result<Option<Value>, ProcessError> {
        match self.recv(deadline, waiting_for) {
            Ok(value) => Ok(Some(value)),
            Err(ProcessError::Timeout { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The end of what the adapter wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&tail).into_owned()
    }

    /// Closes stdin (the adapter should exit), waits up to `grace`, then kills it.
    pub fn shutdown(mut self, grace: Duration) {
        self.stdin = None;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        // Drop kills it.
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        self.stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        #[cfg(unix)]
        {
            // The rest of its process group (no libc here: `unsafe` is forbidden).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.wait();
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn command(script: &str) -> Vec<String> {
        ["sh", "-c", script].map(str::to_owned).to_vec()
    }

    #[test]
    fn an_adapter_that_never_reads_does_not_block_the_runner() {
        // 1 MiB is far more than a pipe holds: a blocking write would hang here.
        let mut adapter = Adapter::spawn(&command("exec sleep 30")).unwrap();
        let big = Value::String("x".repeat(1 << 20));
        adapter.send(&big).unwrap();
        let deadline = Instant::now() + Duration::from_millis(100);
        let error = adapter.recv(deadline, "an answer").unwrap_err();
        assert!(matches!(error, ProcessError::Timeout { .. }), "{error}");
    }

    #[test]
    fn lines_are_json_and_exits_are_reported_with_stderr() {
        let script = r#"echo '{"a": 1}'; echo; echo 'not json'; echo bye >&2; exit 7"#;
        let mut adapter = Adapter::spawn(&command(script)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(adapter.recv(deadline, "a").unwrap()["a"], 1);
        let error = adapter.recv(deadline, "b").unwrap_err();
        assert!(matches!(error, ProcessError::BadLine { .. }), "{error}");
        let error = adapter.recv(deadline, "c").unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("exit status: 7") && text.contains("bye"),
            "{text}"
        );
    }
}

//! `bourn serve` options: one definition per option, read from a flag, its
//! variable or the `--config` file; a bad one names its key and source.

use super::support::{DataDir, Hub, WAIT, bourn_in, run, run_with_env, wait_for_exit};
use std::process::Stdio;

/// A TOML file in its own directory, removed when dropped.
struct File {
    dir: DataDir,
    path: std::path::PathBuf,
}

impl File {
    fn new(text: &str) -> File {
        let dir = DataDir::new();
        std::fs::create_dir_all(&dir.path).unwrap();
        let path = dir.path.join("bourn.toml");
        std::fs::write(&path, text).unwrap();
        File { dir, path }
    }

    fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

#[test]
fn a_bad_variable_is_named_with_its_value() {
    let out = run_with_env(
        &["serve", "--addr", "127.0.0.1:0", "--store", "memory"],
        &[("BOURN_WRITE_TIMEOUT", "soon")],
        b"",
    );
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("environment variable BOURN_WRITE_TIMEOUT")
            && out.stderr.contains("`soon`")
            && out.stderr.contains("--write-timeout"),
        "{}",
        out.stderr
    );
    // The flag wins over a bad variable: the variable is never read.
    let hub = {
        let data = DataDir::new();
        let mut child = bourn_in(&data.path)
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--store",
                "memory",
                "--write-timeout",
                "1m30s",
            ])
            .env("BOURN_WRITE_TIMEOUT", "soon")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = super::support::Lines::new(child.stdout.take().unwrap());
        let first = lines.next();
        let _ = child.kill();
        let _ = child.wait();
        first
    };
    assert!(hub.contains("listening on http://127.0.0.1:"), "{hub}");

    // A flag's own error names the flag.
    let out = run(&["serve", "--store", "memory", "--keep-alive", "0s"], b"");
    assert_eq!(out.code(), Some(2));
    assert!(
        out.stderr.contains("--keep-alive") && out.stderr.contains("must be more than 0"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_file_value_is_named_with_its_file_line_and_key() {
    let cases = [
        (
            "store = \"memory\"\n\nmax-connections = 0\n",
            ":3: `max-connections`",
            "at least 1",
        ),
        (
            "store = \"memory\"\nheader-timeout = \"1 fortnight\"\n",
            ":2: `header-timeout`",
            "1 fortnight",
        ),
        (
            "store = \"memory\"\nmax-bodyy = 10\n",
            ":2: `max-bodyy`",
            "unknown option",
        ),
        ("store = \"gopher://x\"\n", ":1: `store`", "not a store"),
        ("addr = [\"127.0.0.1:0\"]\n", ":1: `addr`", "one value"),
    ];
    for (text, at, why) in cases {
        let file = File::new(text);
        let out = run(
            &["serve", "--addr", "127.0.0.1:0", "--config", file.arg()],
            b"",
        );
        assert_eq!(out.code(), Some(1), "{text:?}: {}", out.stderr);
        let expected = format!("{}{at}", file.arg());
        assert!(
            out.stderr.contains(&expected) && out.stderr.contains(why),
            "{text:?}: wanted {expected} … {why}: {}",
            out.stderr
        );
        drop(file.dir);
    }
}

#[test]
fn the_file_takes_durations_arrays_and_a_typed_store() {
    let file = File::new(
        "store = \"memory\"\nkeep-alive = \"1m30s\"\nbody-timeout = \"1m 30s\"\n\
         cors-origin = [\"https://a.example\", \"https://b.example\"]\n",
    );
    let hub = Hub::start(&["--config", file.arg()]);
    for origin in ["https://a.example", "https://b.example"] {
        let preflight = hub.request(
            "OPTIONS",
            "/topics/a",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
            ],
            b"",
        );
        assert_eq!(
            preflight.header("access-control-allow-origin").as_deref(),
            Some(origin),
            "both origins of the array are allowed"
        );
    }
    // `store = "memory"` was parsed into the in-memory store, not a file
    // named "memory" in the working directory.
    assert!(
        hub.stderr.until("store:").contains("in memory"),
        "the in-memory store"
    );
}

#[test]
fn a_second_hub_on_the_same_default_store_gets_a_one_line_hint() {
    let data = DataDir::new();
    let _first = Hub::start_in(&data.path, "127.0.0.1:0", &[]);
    let mut second = bourn_in(&data.path)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = second.stderr.take().unwrap();
    let status = wait_for_exit(&mut second, WAIT).unwrap_or_else(|| {
        let _ = second.kill();
        panic!("a second hub started on a store another hub holds")
    });
    assert_eq!(status.code(), Some(1));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    let store = data.default_store();
    for needle in [
        "another hub holds the store",
        store.to_str().unwrap(),
        "--store PATH",
        "--store memory",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!text.contains("lock"), "not the raw lock error: {text}");
}

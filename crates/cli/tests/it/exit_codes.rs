//! The documented exit codes, and the request options of `bourn listen`.

use super::support::{Hub, closed_port, one_shot_server, run};

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";

#[test]
fn once_sends_method_headers_body_and_ends_with_0_at_the_end_of_the_stream() {
    static RESPONSE: &str = concat!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
        "data: {\"delta\":\"Hel\"}\n\ndata: {\"delta\":\"lo\"}\n\n"
    );
    let (addr, request) = one_shot_server(RESPONSE.as_bytes());
    let dir = std::env::temp_dir().join(format!("bourn-it-body-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = dir.join("request.json");
    std::fs::write(&body, "{\"stream\":\ntrue}\n").unwrap();
    let output = run(
        &[
            "listen",
            "--once",
            "--json",
            "-H",
            "Authorization: Bearer sk-test",
            "-H",
            "content-type: application/json",
            "-d",
            &format!("@{}", body.display()),
            &format!("http://{addr}/v1/chat"),
        ],
        b"",
    );
    assert_eq!(output.code(), Some(0), "{output:?}");
    let data: Vec<serde_json::Value> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["data"], "{\"delta\":\"lo\"}");
    let request = request.join().unwrap();
    assert!(
        request.starts_with("POST /v1/chat HTTP/1.1\r\n"),
        "{request}"
    );
    let lower = request.to_ascii_lowercase();
    assert!(
        lower.contains("authorization: bearer sk-test\r\n"),
        "{request}"
    );
    assert!(lower.contains("accept: text/event-stream\r\n"), "{request}");
    // -d @file drops line breaks, as curl does.
    assert!(
        request.ends_with("\r\n\r\n{\"stream\":true}"),
        "{request:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn data_binary_and_last_event_id_are_sent_as_given() {
    let (addr, request) = one_shot_server(b"HTTP/1.1 204 No Content\r\n\r\n");
    let output = run(
        &[
            "listen",
            "-X",
            "PUT",
            "--data-binary",
            "@-",
            "--last-event-id",
            "e.9",
            &format!("http://{addr}/s"),
        ],
        b"line 1\nline 2\n",
    );
    assert_eq!(
        output.code(),
        Some(0),
        "204 closes for good, cleanly: {output:?}"
    );
    let request = request.join().unwrap();
    assert!(request.starts_with("PUT /s HTTP/1.1\r\n"), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("last-event-id: e.9\r\n"),
        "{request}"
    );
    assert!(request.ends_with("\r\n\r\nline 1\nline 2\n"), "{request:?}");
}

#[test]
fn http_status_failure_exits_3_with_the_reason() {
    let hub = Hub::start(&["--subscribe-token", "s"]);
    let output = run(&["listen", &hub.url("/topics/x")], b"");
    assert_eq!(output.code(), Some(3), "{output:?}");
    assert!(output.stderr.contains("401"), "{}", output.stderr);
    assert!(output.stderr.contains("needs a token"), "{}", output.stderr);

    let publish = run(&["publish", &hub.url("/topics/a%20b"), "-d", "x"], b"");
    assert_eq!(publish.code(), Some(3), "{publish:?}");
    assert!(
        publish.stderr.contains("400") && publish.stderr.contains("invalid topic name"),
        "{}",
        publish.stderr
    );
}

#[test]
fn content_type_failure_exits_4() {
    let hub = Hub::start(&[]);
    let output = run(&["listen", &hub.url("/health")], b"");
    assert_eq!(output.code(), Some(4), "{output:?}");
}

#[test]
fn network_failure_after_retries_exits_5() {
    let url = format!("http://{}/topics/x", closed_port());
    let output = run(&["listen", "--retry", "1", &url], b"");
    assert_eq!(output.code(), Some(5), "{output:?}");
    let once = run(&["listen", "--once", &url], b"");
    assert_eq!(once.code(), Some(5), "{once:?}");
    let publish = run(&["publish", &url, "-d", "x"], b"");
    assert_eq!(publish.code(), Some(5), "{publish:?}");
}

#[test]
fn timeout_exits_6() {
    let (addr, _request) = one_shot_server(SSE_HEAD.as_bytes());
    let output = run(
        &["listen", "--timeout", "300ms", &format!("http://{addr}/")],
        b"",
    );
    assert_eq!(output.code(), Some(6), "{output:?}");
    assert!(output.stderr.contains("timed out"), "{}", output.stderr);
}

#[test]
fn usage_errors_exit_2_and_help_documents_codes() {
    assert_eq!(run(&["listen"], b"").code(), Some(2));
    assert_eq!(run(&["serve", "--addr", "nope"], b"").code(), Some(2));
    let durability = run(&["serve", "--durability", "sometimes"], b"");
    assert_eq!(durability.code(), Some(2), "{durability:?}");
    assert!(
        durability.stderr.contains("batched:MS"),
        "{}",
        durability.stderr
    );
    let help = run(&["--help"], b"");
    assert!(help.stdout.contains("Exit codes:"), "{}", help.stdout);
    for command in ["listen", "publish"] {
        let help = run(&[command, "--help"], b"");
        assert!(
            help.stdout.contains("Exit codes:"),
            "{command} --help: {}",
            help.stdout
        );
    }
    let serve = run(&["serve", "--help"], b"");
    for needle in [
        "--publish-token",
        "BOURN_PUBLISH_TOKEN",
        "--max-body",
        "--config",
        "--store memory",
        "bourn.redb",
        "XDG_DATA_HOME",
        "--durability",
        "batched[:MS]",
        "bourn-reset",
        "127.0.0.1:8080",
    ] {
        assert!(serve.stdout.contains(needle), "serve --help lacks {needle}");
    }
}

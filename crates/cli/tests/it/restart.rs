//! Resume across a restart of `bourn serve`: by default the embedded store
//! keeps the history and the epoch, so the listener resumes with no reset;
//! with `--store memory` the log is lost, so the listener must be told (a
//! `bourn-reset` event), never left with a silent gap.

use super::support::{DataDir, Hub, Listen, run};

#[test]
fn a_listener_resuming_across_a_restart_of_a_memory_hub_gets_the_reset_event() {
    let mut first = Hub::start(&[
        "--store",
        "memory",
        "--retry-hint",
        "100ms",
        "--grace",
        "1s",
    ]);
    let addr = first.addr.to_string();
    let topic = first.url("/topics/orders");
    let listen = Listen::start(&["--json", &topic]);
    first.wait_metric("bourn_subscribers", 1);

    let before = run(&["publish", &topic, "--data", "before"], b"");
    let before_id = before.stdout.trim().to_owned();
    let event = listen.event();
    assert_eq!(
        (event["data"].as_str(), event["id"].as_str()),
        (Some("before"), Some(before_id.as_str()))
    );

    // Stop the hub (SIGTERM: streams end with a retry hint) and start a new
    // one on the same port: a new epoch, an empty log.
    assert_eq!(first.terminate().code(), Some(0));
    let second = Hub::start_at(&addr, &["--store", "memory", "--retry-hint", "100ms"]);
    listen.stderr.until("reconnected");
    second.wait_metric("bourn_subscribers", 1);

    // The listener came back with Last-Event-ID = the old id: the new hub
    // cannot resume from it and says so, with its position.
    let reset = listen.event();
    assert_eq!(reset["type"], "bourn-reset", "{reset}");
    assert_eq!(reset["data"], "epoch");
    let position = reset["id"].as_str().unwrap().to_owned();
    let (old_epoch, _) = before_id.split_once('.').unwrap();
    let (new_epoch, seq) = position.split_once('.').unwrap();
    assert_ne!(old_epoch, new_epoch);
    assert_eq!(seq, "0");
    assert_eq!(second.metric("bourn_resets_total"), 1);
    // And says so on stderr, for people.
    listen
        .stderr
        .until("could not resume from the last event id (epoch)");

    // Then live events of the new history.
    let after = run(&["publish", &topic, "--data", "after"], b"");
    let event = listen.event();
    assert_eq!(event["data"], "after");
    assert_eq!(event["id"], after.stdout.trim());
    assert_eq!(after.stdout.trim(), format!("{new_epoch}.1"));
}

#[test]
fn a_default_hub_keeps_its_history_in_the_data_dir_and_resumes_across_a_restart() {
    let data = DataDir::new();
    let args = ["--retry-hint", "100ms", "--grace", "1s"];
    let mut first = Hub::start_in(&data.path, "127.0.0.1:0", &args);
    let addr = first.addr.to_string();
    let topic = first.url("/topics/orders");
    let listen = Listen::start(&["--json", &topic]);
    first.wait_metric("bourn_subscribers", 1);

    let ids: Vec<String> = ["one", "two"]
        .iter()
        .map(|data| {
            let published = run(&["publish", &topic, "--data", data], b"");
            assert_eq!(published.code(), Some(0), "{published:?}");
            published.stdout.trim().to_owned()
        })
        .collect();
    for (id, data) in ids.iter().zip(["one", "two"]) {
        let event = listen.event();
        assert_eq!(
            (event["id"].as_str(), event["data"].as_str()),
            (Some(id.as_str()), Some(data))
        );
    }
    assert!(
        data.default_store().is_file(),
        "no store at {:?}",
        data.default_store()
    );

    // Restart on the same port with the same data directory.
    assert_eq!(first.terminate().code(), Some(0));
    let second = Hub::start_in(&data.path, &addr, &args);
    listen.stderr.until("reconnected");
    second.wait_metric("bourn_subscribers", 1);

    // Same epoch, numbering goes on, and the listener resumed with no reset.
    let after = run(&["publish", &topic, "--data", "after"], b"");
    let (epoch, _) = ids[0].split_once('.').unwrap();
    assert_eq!(after.stdout.trim(), format!("{epoch}.3"));
    let event = listen.event();
    assert_eq!(event["type"], "message", "{event}");
    assert_eq!(
        (event["id"].as_str(), event["data"].as_str()),
        (Some(after.stdout.trim()), Some("after"))
    );
    assert_eq!(second.metric("bourn_resets_total"), 0);

    // A client that saw only the first event is replayed the rest.
    let late = Listen::start(&[
        "--json",
        "--last-event-id",
        &ids[0],
        "--max-events",
        "2",
        &topic,
    ]);
    let replayed: Vec<_> = (0..2).map(|_| late.event()["data"].clone()).collect();
    assert_eq!(replayed, ["two", "after"]);
}

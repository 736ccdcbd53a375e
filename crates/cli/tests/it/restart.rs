//! Resume across a restart of `rill serve`: the in-memory log is lost, so
//! the listener must be told (a `rill-reset` event), never left with a
//! silent gap.

use super::support::{Hub, Listen, run};

#[test]
fn a_listener_resuming_across_a_restart_gets_the_reset_event() {
    let mut first = Hub::start(&["--retry-hint", "100ms", "--grace", "1s"]);
    let addr = first.addr.to_string();
    let topic = first.url("/topics/orders");
    let listen = Listen::start(&["--json", &topic]);
    first.wait_metric("rill_subscribers", 1);

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
    let second = Hub::start_at(&addr, &["--retry-hint", "100ms"]);
    listen.stderr.until("reconnected");
    second.wait_metric("rill_subscribers", 1);

    // The listener came back with Last-Event-ID = the old id: the new hub
    // cannot resume from it and says so, with its position.
    let reset = listen.event();
    assert_eq!(reset["type"], "rill-reset", "{reset}");
    assert_eq!(reset["data"], "epoch");
    let position = reset["id"].as_str().unwrap().to_owned();
    let (old_epoch, _) = before_id.split_once('.').unwrap();
    let (new_epoch, seq) = position.split_once('.').unwrap();
    assert_ne!(old_epoch, new_epoch);
    assert_eq!(seq, "0");
    assert_eq!(second.metric("rill_resets_total"), 1);
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

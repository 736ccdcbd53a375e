//! The backend suite against bourn-server's memory backend.
#![cfg(feature = "backends")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

use bourn_server::MemoryBackend;

#[tokio::test]
async fn memory_backend_passes_the_suite() {
    bourn_conformance::backend::run_all(
        async || MemoryBackend::new(),
        None::<fn() -> std::future::Ready<MemoryBackend>>,
    )
    .await;
}

mod failure_model {
    //! The channel's failure model over a memory backend with injected
    //! faults: what a publisher and a subscriber see.

    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use bourn_conformance::faulty::Faulty;
    use bourn_server::{Channel, Encoded, Event, EventId, MemoryBackend, Subscription};
    use futures_util::StreamExt;

    fn channel() -> (Channel, std::sync::Arc<bourn_conformance::faulty::Faults>) {
        let backend = Faulty::new(MemoryBackend::new());
        let faults = backend.faults();
        (Channel::builder().backend(backend).build().unwrap(), faults)
    }

    async fn next(subscription: &mut Subscription) -> Option<Encoded> {
        tokio::time::timeout(Duration::from_secs(2), subscription.next())
            .await
            .expect("the subscription stalled")
    }

    fn text(item: &Encoded) -> String {
        String::from_utf8_lossy(item.as_bytes()).into_owned()
    }

    async fn primed(channel: &Channel) -> Subscription {
        let mut subscription = channel.subscribe("t", None).unwrap();
        assert!(text(&next(&mut subscription).await.unwrap()).starts_with("id: "));
        subscription
    }

    #[tokio::test]
    async fn a_failed_append_is_never_delivered() {
        let (channel, faults) = channel();
        let mut subscription = primed(&channel).await;
        faults.fail_appends.store(1, Ordering::Relaxed);
        let error = channel
            .publish("t", Event::message("lost"))
            .await
            .unwrap_err();
        assert!(error.is_unavailable());
        let id = channel.publish("t", Event::message("kept")).await.unwrap();
        assert_eq!(id.seq(), 1, "the failed append took no seq");
        assert_eq!(
            text(&next(&mut subscription).await.unwrap()),
            format!("id: {id}\ndata: kept\n\n")
        );
    }

    #[tokio::test]
    async fn an_unknown_outcome_is_reported_and_a_keyed_retry_does_not_duplicate() {
        let (channel, faults) = channel();
        let mut subscription = primed(&channel).await;
        faults.lose_replies.store(1, Ordering::Relaxed);
        let error = channel
            .publish_idempotent("t", "order-7", Event::message("once"))
            .await
            .unwrap_err();
        assert!(error.is_outcome_unknown() && !error.is_unavailable());
        // It was in fact published: the subscriber has it.
        let first = text(&next(&mut subscription).await.unwrap());
        let retry = channel
            .publish_idempotent("t", "order-7", Event::message("once"))
            .await
            .unwrap();
        assert_eq!(
            first,
            format!("id: {retry}\ndata: once\n\n"),
            "the retry answers the first id"
        );
        let next_id = channel.publish("t", Event::message("after")).await.unwrap();
        assert_eq!(next_id.seq(), retry.seq() + 1, "no duplicate was stored");
        let after = text(&next(&mut subscription).await.unwrap());
        assert!(
            after.contains("data: after"),
            "no duplicate was delivered: {after:?}"
        );
        assert_eq!(channel.stats().publish_unknown, 1);
    }

    #[tokio::test]
    async fn lost_reports_are_filled_in_order() {
        let (channel, faults) = channel();
        let mut subscription = primed(&channel).await;
        faults.drop_reports.store(3, Ordering::Relaxed);
        let mut ids = Vec::new();
        for n in 1..=5 {
            ids.push(
                channel
                    .publish("t", Event::message(n.to_string()))
                    .await
                    .unwrap(),
            );
        }
        for id in &ids {
            assert!(
                text(&next(&mut subscription).await.unwrap()).starts_with(&format!("id: {id}\n"))
            );
        }
    }

    #[tokio::test]
    async fn a_stalled_commit_report_delays_but_never_reorders() {
        let backend = Faulty::new(MemoryBackend::new());
        let faults = backend.faults();
        let channel = Channel::builder().backend(backend).build().unwrap();
        let mut subscription = primed(&channel).await;
        faults.hold_reports.store(1, Ordering::Relaxed);
        let first = channel.publish("t", Event::message("1")).await.unwrap();
        let second = channel.publish("t", Event::message("2")).await.unwrap();
        // 2 arrived first: the channel read 1 from the backend before it.
        assert!(
            text(&next(&mut subscription).await.unwrap()).starts_with(&format!("id: {first}\n"))
        );
        assert!(
            text(&next(&mut subscription).await.unwrap()).starts_with(&format!("id: {second}\n"))
        );
    }

    #[tokio::test]
    async fn an_unreadable_position_ends_the_stream_without_a_made_up_start() {
        let (channel, faults) = channel();
        channel.publish("t", Event::message("1")).await.unwrap();
        faults.fail_positions.store(1, Ordering::Relaxed);
        let mut subscription = channel.subscribe("t", None).unwrap();
        assert!(
            next(&mut subscription).await.is_none(),
            "no invented position"
        );
        drop(subscription);
        let mut again = channel.subscribe("t", None).unwrap();
        let prime = text(&next(&mut again).await.unwrap());
        assert!(prime.ends_with(".1\n\n"), "{prime:?}");
    }

    #[tokio::test]
    async fn a_failing_replay_is_a_distinct_reset() {
        let (channel, faults) = channel();
        let first = channel.publish("t", Event::message("1")).await.unwrap();
        channel.publish("t", Event::message("2")).await.unwrap();
        faults.fail_replays.store(100, Ordering::Relaxed);
        let last =
            bourn_server::LastEventId::new(EventId::new(first.epoch(), 0).to_string()).unwrap();
        let mut subscription = channel.subscribe("t", Some(&last)).unwrap();
        let reset = text(&next(&mut subscription).await.unwrap());
        assert!(
            reset.contains("event: bourn-reset") && reset.contains("data: unavailable"),
            "{reset:?}"
        );
    }
}

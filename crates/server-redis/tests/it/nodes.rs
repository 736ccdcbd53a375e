//! Two nodes (two backends) on one Redis: concurrent appends from several
//! tasks to one topic get contiguous seqs, and each node's feed reports
//! every record exactly once, in order.

use std::sync::Arc;
use std::time::Duration;

use bourn_server::backend::{Backend, PageLimit};

use crate::support::{body, node};
use bourn_testkit::redis::RedisServer;

const TASKS_PER_NODE: u64 = 3;
const APPENDS_PER_TASK: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_topic_in_order() {
    let Some(server) = RedisServer::start("two_nodes_share_one_topic_in_order") else {
        return;
    };
    let url = server.url();
    let (a, seen_a) = node(&url, "p").await;
    let (b, seen_b) = node(&url, "p").await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut tasks = Vec::new();
    for (n, backend) in [&a, &b].into_iter().enumerate() {
        for task in 0..TASKS_PER_NODE {
            let backend = Arc::clone(backend);
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..APPENDS_PER_TASK {
                    let text = format!("{n}/{task}/{i}");
                    ids.push(backend.append("t", body(&text), None).await.unwrap());
                }
                ids
            }));
        }
    }
    let mut ids = Vec::new();
    for task in tasks {
        let mine = task.await.unwrap();
        // Each task's own appends are in order.
        assert!(mine.windows(2).all(|w| w[0].seq() < w[1].seq()));
        ids.extend(mine);
    }
    let total = 2 * TASKS_PER_NODE * APPENDS_PER_TASK;
    let epoch = ids[0].epoch();
    assert!(ids.iter().all(|id| id.epoch() == epoch));
    let mut seqs: Vec<u64> = ids.iter().map(|id| id.seq()).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "contiguous, none twice"
    );
    let expected: Vec<(u64, u64)> = (1..=total).map(|seq| (epoch, seq)).collect();
    for seen in [&seen_a, &seen_b] {
        seen.wait("every record", Duration::from_secs(10), |_| {
            seen.committed("t").len() >= expected.len()
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        seen_a.committed("t"),
        expected,
        "node a: each once, in order"
    );
    assert_eq!(
        seen_b.committed("t"),
        expected,
        "node b: each once, in order"
    );
    // And the stream holds them in the same order, read by either node.
    let mut after = 0;
    while after < total {
        let page = b
            .replay(
                "t",
                b.position("t").await.unwrap().epoch(),
                after,
                total,
                PageLimit {
                    max_events: 50,
                    max_bytes: 1 << 20,
                },
            )
            .await
            .unwrap()
            .unwrap();
        for record in &page {
            after += 1;
            assert_eq!(record.seq, after);
        }
    }
}

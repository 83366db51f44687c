//! The Kafka direct stream and reader against a real Kafka-protocol broker on loopback:
//! tansu (`../shared/tools/tansu`, or `FIRESTEEL_TANSU`). Without one the tests say so
//! and pass, unless `FIRESTEEL_REQUIRE_KAFKA=1` (as in CI), which makes them fail.
//!
//! Records are produced one per produce request: tansu 0.6 reports the end of a partition
//! and serves fetches exactly then (with several records per request, ListOffsets(latest)
//! can report a batch's base offset + 1, and a fetch starting inside a batch skips to the
//! next one; see ../shared/tools/README.md).

#![cfg(feature = "kafka")]

#[path = "common/broker.rs"]
mod broker;
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use firesteel_core::Context;
use firesteel_streaming::kafka::{
    create_rdd, ConsumerStrategy, KafkaParams, KafkaRecord, OffsetRange,
};
use firesteel_streaming::{StreamingContext, Time};

use broker::broker;

trait Params {
    fn params(&self) -> KafkaParams;
}

impl Params for broker::Broker {
    fn params(&self) -> KafkaParams {
        KafkaParams::new(&self.servers())
            .set("auto.offset.reset", "earliest")
            .timeout(Duration::from_secs(3))
    }
}

fn values(records: &[KafkaRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.value_str().unwrap().to_owned())
        .collect()
}

#[test]
fn create_rdd_reads_exactly_the_given_offset_ranges() {
    let Some(b) = broker() else { return };
    b.create_topic("events", 3);
    b.produce("events", 0, &["a0", "a1", "a2", "a3", "a4", "a5"]);
    b.produce("events", 1, &["b0", "b1", "b2"]);
    let ctx = Context::local(2).unwrap();
    let range = |p, from, until| OffsetRange {
        topic: "events".into(),
        partition: p,
        from_offset: from,
        until_offset: until,
    };
    let ds = create_rdd(
        &ctx,
        &b.params(),
        &[range(0, 2, 5), range(1, 0, 3), range(2, 0, 0)],
    );
    assert_eq!(ds.num_partitions(), 3);
    let records = ds.collect().unwrap();
    assert_eq!(values(&records), vec!["a2", "a3", "a4", "b0", "b1", "b2"]);
    let offsets: Vec<(i32, i64)> = records.iter().map(|r| (r.partition, r.offset)).collect();
    assert_eq!(
        offsets,
        vec![(0, 2), (0, 3), (0, 4), (1, 0), (1, 1), (1, 2)]
    );
}

/// A recoverable direct stream over `topic` on the manual clock, collecting each batch's
/// values (sorted) by batch time.
fn direct(
    ctx: &Context,
    params: KafkaParams,
    topic: &str,
    ckpt: &std::path::Path,
    out: &Arc<Mutex<Vec<(i64, Vec<String>)>>>,
) -> StreamingContext {
    let seen = out.clone();
    let topic = topic.to_owned();
    StreamingContext::get_or_create(ckpt, || {
        let ssc = StreamingContext::with_manual_clock(ctx, Duration::from_millis(100))?;
        ssc.kafka_direct_stream(params, ConsumerStrategy::Subscribe(vec![topic]))
            .map(|r: KafkaRecord| r.value_str().unwrap_or("").to_owned())
            .foreach_rdd(move |ds, t: Time| {
                let mut v = ds.collect()?;
                v.sort();
                seen.lock().unwrap().push((t.millis(), v));
                Ok(())
            });
        Ok(ssc)
    })
    .unwrap()
}

#[test]
fn the_direct_stream_reads_new_records_each_batch_and_continues_after_a_restart() {
    let Some(b) = broker() else { return };
    b.create_topic("clicks", 2);
    b.produce("clicks", 0, &["a", "b"]);
    b.produce("clicks", 1, &["c"]);
    let ctx = Context::local(2).unwrap();
    let ckpt = tempfile::tempdir().unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let ssc = direct(&ctx, b.params(), "clicks", ckpt.path(), &out);
    ssc.start().unwrap();
    ssc.run_batches(1).unwrap();
    b.produce("clicks", 1, &["d"]);
    ssc.run_batches(2).unwrap();
    ssc.stop(false);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        *out.lock().unwrap(),
        vec![(100, s(&["a", "b", "c"])), (200, s(&["d"])), (300, vec![])]
    );

    // Records produced while nothing runs are read once by the restarted program, and
    // nothing before them is read again.
    b.produce("clicks", 0, &["e"]);
    let out2 = Arc::new(Mutex::new(Vec::new()));
    let ssc = direct(&ctx, b.params(), "clicks", ckpt.path(), &out2);
    ssc.start().unwrap();
    ssc.run_batches(2).unwrap();
    ssc.stop(false);
    assert_eq!(*out2.lock().unwrap(), vec![(400, s(&["e"])), (500, vec![])]);
}

#[test]
fn a_maximum_rate_per_partition_spreads_a_backlog_over_batches() {
    let Some(b) = broker() else { return };
    b.create_topic("backlog", 1);
    b.produce("backlog", 0, &["1", "2", "3", "4", "5"]);
    let ctx = Context::local(1).unwrap();
    let ckpt = tempfile::tempdir().unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    // 20 records/s over 100 ms batches: 2 records per batch.
    let params = b.params().max_rate_per_partition(20.0);
    let ssc = direct(&ctx, params, "backlog", ckpt.path(), &out);
    ssc.start().unwrap();
    ssc.run_batches(4).unwrap();
    ssc.stop(false);
    let sizes: Vec<usize> = out.lock().unwrap().iter().map(|(_, v)| v.len()).collect();
    assert_eq!(sizes, vec![2, 2, 1, 0]);
}

#[test]
fn a_broker_that_goes_away_fails_the_batch_with_a_clear_error() {
    let Some(mut b) = broker() else { return };
    b.create_topic("gone", 1);
    b.produce("gone", 0, &["x"]);
    let servers = b.servers();
    let ctx = Context::local(1).unwrap();
    let ckpt = tempfile::tempdir().unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let ssc = direct(&ctx, b.params(), "gone", ckpt.path(), &out);
    ssc.start().unwrap();
    ssc.run_batches(1).unwrap();
    let _ = b.child.kill();
    let _ = b.child.wait();
    let err = ssc.run_batches(1).unwrap_err().to_string();
    ssc.stop(false);
    assert!(err.contains(&format!("Kafka {servers}")), "{err}");
    assert_eq!(out.lock().unwrap().len(), 1);
}

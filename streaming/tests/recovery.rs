//! `get_or_create` in one process: a second context on the same checkpoint directory
//! continues after the first one's last finished batch, with the same state, and a
//! directory stream does not read again the files the first one read.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::s;
use firesteel_core::Context;
use firesteel_streaming::{StreamingContext, Time};

type Seen = Arc<Mutex<Vec<(i64, Vec<(String, u64)>)>>>;

/// Running word counts of the files moved into `watched`.
fn setup(ctx: &Context, watched: &Path, seen: &Seen) -> firesteel_core::Result<StreamingContext> {
    let ssc = StreamingContext::with_manual_clock(ctx, Duration::from_millis(100))?;
    let out = seen.clone();
    ssc.text_file_stream(watched)
        .flat_map(|l: String| {
            l.split_whitespace()
                .map(|w| (w.to_owned(), 1u64))
                .collect::<Vec<_>>()
        })
        .update_state_by_key(|v: Vec<u64>, s: Option<u64>| {
            Some(s.unwrap_or(0) + v.iter().sum::<u64>())
        })
        .foreach_rdd(move |ds, t: Time| {
            let mut v = ds.collect()?;
            v.sort();
            out.lock().unwrap().push((t.millis(), v));
            Ok(())
        });
    Ok(ssc)
}

fn put(dir: &Path, name: &str, text: &str) {
    let tmp = dir.parent().unwrap().join(name);
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

#[test]
fn a_restarted_context_continues_where_the_last_one_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let (watched, ckpt) = (tmp.path().join("in"), tmp.path().join("checkpoint"));
    std::fs::create_dir(&watched).unwrap();
    put(&watched, "before.txt", "old\n");
    let ctx = Context::local(2).unwrap();

    let first: Seen = Arc::default();
    let ssc = StreamingContext::get_or_create(&ckpt, || setup(&ctx, &watched, &first)).unwrap();
    ssc.start().unwrap();
    put(&watched, "a.txt", "x y\n");
    ssc.run_batches(2).unwrap();
    put(&watched, "b.txt", "x\n");
    ssc.run_batches(1).unwrap();
    ssc.stop(false);
    assert_eq!(
        *first.lock().unwrap(),
        vec![
            (100, vec![(s("x"), 1), (s("y"), 1)]),
            (200, vec![(s("x"), 1), (s("y"), 1)]),
            (300, vec![(s("x"), 2), (s("y"), 1)]),
        ]
    );

    // A file arrives while nothing runs; the restarted context reads it (and only it).
    put(&watched, "c.txt", "y z\n");
    let second: Seen = Arc::default();
    let ssc = StreamingContext::get_or_create(&ckpt, || setup(&ctx, &watched, &second)).unwrap();
    ssc.start().unwrap();
    ssc.run_batches(2).unwrap();
    ssc.stop(false);
    assert_eq!(
        *second.lock().unwrap(),
        vec![
            (400, vec![(s("x"), 2), (s("y"), 2), (s("z"), 1)]),
            (500, vec![(s("x"), 2), (s("y"), 2), (s("z"), 1)]),
        ]
    );
}

#[test]
fn queue_streams_cannot_be_recovered() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = Context::local(1).unwrap();
    let ssc = StreamingContext::get_or_create(tmp.path(), || {
        let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(100))?;
        common::queue(&ssc, vec![vec![1u8]], 1).foreach_rdd(|_, _| Ok(()));
        Ok(ssc)
    })
    .unwrap();
    let err = ssc.start().unwrap_err().to_string();
    assert!(
        err.contains("a queue stream's datasets are not logged"),
        "{err}"
    );
}

/// A receiver whose sink the test holds, to store records exactly when it wants.
struct Handed(Arc<Mutex<Option<firesteel_streaming::ReceiverSink<u64>>>>);

impl firesteel_streaming::Receiver<u64> for Handed {
    fn on_start(&self, sink: firesteel_streaming::ReceiverSink<u64>) {
        *self.0.lock().unwrap() = Some(sink);
    }
}

type Batches = Arc<Mutex<Vec<(i64, Vec<u64>)>>>;

/// A receiver stream with the write-ahead log on; the batch at `fail_at` writes its
/// output and then fails, as a crash before its commit would leave it.
fn logged_receiver(
    ctx: &Context,
    sink: &Arc<Mutex<Option<firesteel_streaming::ReceiverSink<u64>>>>,
    seen: &Batches,
    fail_at: i64,
) -> firesteel_core::Result<StreamingContext> {
    let ssc = StreamingContext::with_manual_clock(ctx, Duration::from_millis(100))?;
    ssc.receiver_write_ahead_log(true);
    let out = seen.clone();
    ssc.receiver_stream("handed", Handed(sink.clone()))
        .foreach_rdd(move |ds, t: Time| {
            let mut v = ds.collect()?;
            v.sort();
            out.lock().unwrap().push((t.millis(), v));
            if t.millis() == fail_at {
                return Err(firesteel_core::Error::InvalidArgument("crash".into()));
            }
            Ok(())
        });
    Ok(ssc)
}

/// The sink, once the receiver has started.
fn sink_of(
    handle: &Arc<Mutex<Option<firesteel_streaming::ReceiverSink<u64>>>>,
) -> firesteel_streaming::ReceiverSink<u64> {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(s) = handle.lock().unwrap().take() {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "receiver never started"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn with_the_receiver_write_ahead_log_every_stored_record_is_processed_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("checkpoint");
    let ctx = Context::local(2).unwrap();

    let (handle, first): (_, Batches) = (Arc::default(), Arc::default());
    let ssc =
        StreamingContext::get_or_create(&ckpt, || logged_receiver(&ctx, &handle, &first, 200))
            .unwrap();
    ssc.start().unwrap();
    let sink = sink_of(&handle);
    sink.store_all([1, 2]);
    ssc.run_batches(1).unwrap();
    sink.store(3);
    sink.store(4);
    assert!(ssc.run_batches(1).is_err());
    // Stored, in no batch yet, when the process "dies".
    sink.store_all([5, 6]);
    ssc.stop(false);
    assert_eq!(
        *first.lock().unwrap(),
        vec![(100, vec![1, 2]), (200, vec![3, 4])]
    );

    let (handle, second): (_, Batches) = (Arc::default(), Arc::default());
    let ssc =
        StreamingContext::get_or_create(&ckpt, || logged_receiver(&ctx, &handle, &second, -1))
            .unwrap();
    ssc.start().unwrap();
    sink_of(&handle).store(7);
    ssc.run_batches(2).unwrap();
    ssc.stop(false);
    // The unfinished batch again with the same records, then what was stored meanwhile.
    assert_eq!(
        *second.lock().unwrap(),
        vec![(200, vec![3, 4]), (300, vec![5, 6, 7])]
    );
}

#[test]
fn the_receiver_write_ahead_log_needs_a_recoverable_context() {
    let ctx = Context::local(1).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(100)).unwrap();
    ssc.receiver_write_ahead_log(true);
    ssc.receiver_stream("handed", Handed(Arc::default()))
        .foreach_rdd(|_, _| Ok(()));
    let err = ssc.start().unwrap_err().to_string();
    assert!(err.contains("needs a context made by"), "{err}");
}

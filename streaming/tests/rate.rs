//! Receivers' rate: a fixed maximum holds a flooding receiver back, and backpressure
//! replaces the initial rate with the PID controller's estimates.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firesteel_core::Context;
use firesteel_streaming::{Receiver, ReceiverSink, StreamingContext};

/// Stores records as fast as it may; keeps its sink for the test to look at.
#[derive(Clone, Default)]
struct Flood(Arc<Mutex<Option<ReceiverSink<u64>>>>);

impl Receiver<u64> for Flood {
    fn on_start(&self, sink: ReceiverSink<u64>) {
        *self.0.lock().unwrap() = Some(sink.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !sink.is_stopped() {
                sink.store(i);
                i += 1;
            }
        });
    }
}

/// Counts each batch; each batch's processing takes at least `pause` (so that its
/// processing time, in whole milliseconds, is never 0).
fn counted(ssc: &StreamingContext, flood: Flood, pause: Duration) -> Arc<Mutex<Vec<u64>>> {
    let counts = Arc::new(Mutex::new(Vec::new()));
    let seen = counts.clone();
    ssc.receiver_stream("flood", flood)
        .count()
        .foreach_rdd(move |ds, _| {
            seen.lock().unwrap().extend(ds.collect()?);
            std::thread::sleep(pause);
            Ok(())
        });
    counts
}

#[test]
fn a_maximum_rate_holds_a_flooding_receiver_back() {
    let ctx = Context::local(2).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(100)).unwrap();
    ssc.set_max_rate(2000.0);
    let counts = counted(&ssc, Flood::default(), Duration::ZERO);
    ssc.start().unwrap();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(400));
    ssc.run_batches(1).unwrap();
    let elapsed = t0.elapsed().as_secs_f64();
    ssc.stop(false);
    let n = counts.lock().unwrap()[0];
    // At most 2000 records a second (plus the one paid for ahead); unlimited, the receiver
    // stores millions in that time.
    assert!(
        n as f64 <= 2000.0 * elapsed + 2.0,
        "{n} records in {elapsed:.3} s"
    );
    assert!(n >= 100, "{n} records in {elapsed:.3} s");
}

#[test]
fn backpressure_replaces_the_initial_rate_with_estimates() {
    let ctx = Context::local(2).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(100)).unwrap();
    ssc.backpressure(true);
    ssc.set_initial_rate(1000.0);
    ssc.set_max_rate(50_000.0);
    let flood = Flood::default();
    let _counts = counted(&ssc, flood.clone(), Duration::from_millis(5));
    ssc.start().unwrap();
    let rate = || flood.0.lock().unwrap().as_ref().and_then(|s| s.rate());
    let t0 = Instant::now();
    while rate().is_none() {
        assert!(t0.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(rate(), Some(1000.0));
    // Batches with records and processing time give estimates; the first only measures.
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(50));
        ssc.run_batches(1).unwrap();
        if rate() != Some(1000.0) {
            break;
        }
    }
    ssc.stop(false);
    let r = rate().unwrap();
    assert!(r != 1000.0, "the rate never changed");
    assert!((100.0..=50_000.0).contains(&r), "{r}");
}

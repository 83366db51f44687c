//! `socket_text_stream` against a real TCP server on loopback: lines arrive in batches,
//! a dropped connection is reported and reconnected, a refused one is retried while the
//! stream goes on.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firesteel_core::Context;
use firesteel_streaming::{StreamingContext, StreamingListener};

#[derive(Default)]
struct Errors(Mutex<Vec<String>>);

impl StreamingListener for Errors {
    fn on_receiver_error(&self, _receiver: &str, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
}

/// Runs batches until `lines` holds `n` lines (or 20 s pass).
fn batches_until(ssc: &StreamingContext, lines: &Mutex<Vec<String>>, n: usize) {
    let t0 = Instant::now();
    while lines.lock().unwrap().len() < n {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "got {:?}",
            lines.lock().unwrap()
        );
        ssc.run_batches(1).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn lines_arrive_and_a_dropped_connection_reconnects() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let ctx = Context::local(2).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(100)).unwrap();
    ssc.set_receiver_restart_delay(Duration::from_millis(50));
    let errors = Arc::new(Errors::default());
    ssc.add_listener(errors.clone());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let batches = Arc::new(Mutex::new(0usize));
    let (seen, count) = (lines.clone(), batches.clone());
    ssc.socket_text_stream("127.0.0.1", port)
        .foreach_rdd(move |ds, _| {
            seen.lock().unwrap().extend(ds.collect()?);
            *count.lock().unwrap() += 1;
            Ok(())
        });
    ssc.start().unwrap();

    let (mut first, _) = server.accept().unwrap();
    first.write_all(b"a b\nc\n").unwrap();
    batches_until(&ssc, &lines, 2);
    assert_eq!(*lines.lock().unwrap(), vec!["a b", "c"]);
    drop(first);

    // The receiver notices the end of the stream and connects again.
    let (mut second, _) = server.accept().unwrap();
    second.write_all(b"d\n").unwrap();
    batches_until(&ssc, &lines, 3);
    assert_eq!(*lines.lock().unwrap(), vec!["a b", "c", "d"]);
    let errs = errors.0.lock().unwrap().clone();
    assert!(
        errs.iter().any(|e| e.contains("had no more data")),
        "{errs:?}"
    );
    ssc.stop(false);
    assert!(*batches.lock().unwrap() >= 2);
}

#[test]
fn a_refused_connection_is_retried_and_batches_go_on() {
    // A port with nobody listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ctx = Context::local(1).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(100)).unwrap();
    ssc.set_receiver_restart_delay(Duration::from_millis(20));
    let errors = Arc::new(Errors::default());
    ssc.add_listener(errors.clone());
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    ssc.socket_text_stream("127.0.0.1", port)
        .count()
        .foreach_rdd(move |ds, _| {
            seen.lock().unwrap().extend(ds.collect()?);
            Ok(())
        });
    ssc.start().unwrap();
    let t0 = Instant::now();
    while errors.0.lock().unwrap().len() < 2 {
        assert!(t0.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(10));
    }
    ssc.run_batches(3).unwrap();
    ssc.stop(false);
    assert_eq!(*sizes.lock().unwrap(), vec![0, 0, 0]);
    let errs = errors.0.lock().unwrap().clone();
    assert!(
        errs[0].contains(&format!("error connecting to 127.0.0.1:{port}")),
        "{errs:?}"
    );
}

//! The streaming context's life: starting, stopping, failures, listeners, slicing,
//! checkpoints of state and the text-file output.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{queue, s};
use firesteel_core::{Context, Error};
use firesteel_streaming::{
    BatchInfo, StreamingContext, StreamingListener, StreamingState, SystemClock, Time,
};

fn ssc(batch_ms: u64) -> StreamingContext {
    let ctx = Context::local(2).unwrap();
    StreamingContext::with_manual_clock(&ctx, Duration::from_millis(batch_ms)).unwrap()
}

#[test]
fn bad_intervals_and_graphs_are_clear_errors() {
    let ctx = Context::local(1).unwrap();
    let err = StreamingContext::new(&ctx, Duration::ZERO).unwrap_err();
    assert!(
        err.to_string().contains("batch interval must be positive"),
        "{err}"
    );
    let err = StreamingContext::new(&ctx, Duration::from_micros(1500)).unwrap_err();
    assert!(
        err.to_string().contains("whole number of milliseconds"),
        "{err}"
    );

    let ssc = ssc(100);
    let err = ssc.start().unwrap_err();
    assert!(err.to_string().contains("no output operations"), "{err}");

    // State without a checkpoint directory.
    let ssc2 = self::ssc(100);
    queue(&ssc2, vec![vec![(1u8, 1u64)]], 1)
        .update_state_by_key(|v: Vec<u64>, s: Option<u64>| Some(s.unwrap_or(0) + v.len() as u64))
        .foreach_rdd(|_, _| Ok(()));
    let err = ssc2.start().unwrap_err().to_string();
    assert!(
        err.contains("checkpoint directory has not been set"),
        "{err}"
    );

    // Streams of different slides joined.
    let ssc3 = self::ssc(100);
    let a = queue(&ssc3, vec![vec![(1u8, 1u64)]], 1);
    let b = a.window(Duration::from_millis(400), Duration::from_millis(200));
    a.join(&b).foreach_rdd(|_, _| Ok(()));
    let err = ssc3.start().unwrap_err().to_string();
    assert!(err.contains("needs streams of the same slide"), "{err}");
    assert!(err.contains("slides every 200 ms"), "{err}");

    // A checkpoint interval off the slide.
    let ssc4 = self::ssc(100);
    let err = queue(&ssc4, vec![vec![1u8]], 1)
        .checkpoint(Duration::from_millis(150))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not a multiple of its slide 100 ms"),
        "{err}"
    );
}

#[test]
fn start_twice_and_stop_twice() {
    let ssc = ssc(100);
    queue(&ssc, vec![vec![1u8]], 1).foreach_rdd(|_, _| Ok(()));
    ssc.start().unwrap();
    assert_eq!(ssc.state(), StreamingState::Active);
    assert!(ssc.start().is_err());
    ssc.stop(false);
    ssc.stop(true);
    assert_eq!(ssc.state(), StreamingState::Stopped);
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
    assert!(ssc.start().is_err());
}

#[test]
fn a_failed_batch_is_reported_and_later_batches_still_run() {
    // PySpark's test_failed_func_with_resetting_failure: the second batch fails, the third
    // and fourth still produce output, and await_termination reports the failure.
    let ssc = ssc(500);
    let out = Arc::new(Mutex::new(Vec::new()));
    let seen = out.clone();
    queue(&ssc, (0..4u64).map(|i| vec![i]).collect(), 1)
        .transform(|ds, _| {
            Ok(ds.try_map(|i| {
                if i == 1 {
                    Err(Error::task_failed("This is a special error"))
                } else {
                    Ok(i)
                }
            }))
        })
        .foreach_rdd(move |ds, _| {
            seen.lock().unwrap().push(ds.collect()?);
            Ok(())
        });
    ssc.start().unwrap();
    let err = ssc.run_batches(4).unwrap_err();
    assert!(err.to_string().contains("This is a special error"), "{err}");
    assert_eq!(*out.lock().unwrap(), vec![vec![0], vec![2], vec![3]]);
    let err = ssc
        .await_termination_or_timeout(Duration::from_secs(1))
        .unwrap_err();
    assert!(err.to_string().contains("This is a special error"), "{err}");
    assert_eq!(ssc.state(), StreamingState::Active);
    ssc.stop(false);
}

#[test]
fn stop_on_error_stops_the_context() {
    let ssc = ssc(100);
    ssc.stop_on_error(true);
    let runs = Arc::new(Mutex::new(0));
    let seen = runs.clone();
    queue(&ssc, vec![vec![1u8]; 3], 1).foreach_rdd(move |_, _| {
        *seen.lock().unwrap() += 1;
        Err(Error::InvalidArgument("bad batch".into()))
    });
    ssc.start().unwrap();
    assert!(ssc.run_batches(3).is_err());
    let err = ssc.await_termination().unwrap_err();
    assert!(err.to_string().contains("bad batch"), "{err}");
    assert!(ssc
        .await_termination_or_timeout(Duration::from_secs(5))
        .is_err());
    assert_eq!(ssc.state(), StreamingState::Stopped);
    assert_eq!(*runs.lock().unwrap(), 1);
}

#[derive(Default)]
struct Events(Mutex<Vec<(String, i64, u64)>>);

impl StreamingListener for Events {
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.0
            .lock()
            .unwrap()
            .push((s("submitted"), b.batch_time.millis(), 0));
    }
    fn on_batch_started(&self, b: &BatchInfo) {
        assert!(b.scheduling_delay().is_some());
        self.0
            .lock()
            .unwrap()
            .push((s("started"), b.batch_time.millis(), 0));
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        let total = b.total_delay().unwrap();
        assert!(total >= b.processing_delay().unwrap());
        let failed = u64::from(b.failure.is_some());
        self.0
            .lock()
            .unwrap()
            .push((s("completed"), b.batch_time.millis(), failed));
    }
}

#[test]
fn listeners_see_every_batch_in_order() {
    let ssc = ssc(250);
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    queue(&ssc, vec![vec![1u8], vec![2]], 1).foreach_rdd(|_, t| {
        if t.millis() == 500 {
            Err(Error::InvalidArgument("second".into()))
        } else {
            Ok(())
        }
    });
    ssc.start().unwrap();
    let _ = ssc.run_batches(2);
    ssc.stop(false);
    let got = events.0.lock().unwrap().clone();
    let want: Vec<(String, i64, u64)> = vec![
        (s("submitted"), 250, 0),
        (s("started"), 250, 0),
        (s("completed"), 250, 0),
        (s("submitted"), 500, 0),
        (s("started"), 500, 0),
        (s("completed"), 500, 1),
    ];
    assert_eq!(got, want);
}

#[test]
fn slice_reaches_back_as_far_as_remembered() {
    // PySpark's test_slice: 1 s batches, remember 4 s.
    let ssc = ssc(1000);
    ssc.remember(Duration::from_secs(4)).unwrap();
    let stream = queue(&ssc, vec![vec![1u64], vec![2], vec![3], vec![4]], 1);
    stream.foreach_rdd(|_, _| Ok(()));
    ssc.start().unwrap();
    ssc.run_batches(4).unwrap();
    let sliced = |a: i64, b: i64| -> Vec<u64> {
        let mut v: Vec<u64> = stream
            .slice(
                Time::from_millis(1000 + a * 1000),
                Time::from_millis(1000 + b * 1000),
            )
            .unwrap()
            .iter()
            .flat_map(|d| d.collect().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(sliced(0, 0), vec![1]);
    assert_eq!(sliced(1, 2), vec![2, 3]);
    assert_eq!(sliced(1, 4), vec![2, 3, 4]);
    assert_eq!(sliced(0, 4), vec![1, 2, 3, 4]);
    ssc.stop(false);
}

#[test]
fn state_is_checkpointed_and_old_checkpoints_go() {
    let ssc = ssc(100);
    let dir = tempfile::tempdir().unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let seen = out.clone();
    let lineage = Arc::new(Mutex::new(String::new()));
    let lin = lineage.clone();
    queue(&ssc, (1..=9u64).map(|i| vec![(0u8, i)]).collect(), 1)
        .update_state_by_key(|v: Vec<u64>, s: Option<u64>| {
            Some(s.unwrap_or(0) + v.iter().sum::<u64>())
        })
        .checkpoint(Duration::from_millis(300))
        .unwrap()
        .foreach_rdd(move |ds, _| {
            *lin.lock().unwrap() = ds.to_debug_string();
            seen.lock().unwrap().push(ds.collect()?[0].1);
            Ok(())
        });
    ssc.start().unwrap();
    ssc.run_batches(9).unwrap();
    ssc.stop(false);
    // Running sums of 1..=9.
    assert_eq!(*out.lock().unwrap(), vec![1, 3, 6, 10, 15, 21, 28, 36, 45]);
    // The last state (900 ms) was checkpointed: its lineage ends at the checkpoint.
    let lineage = lineage.lock().unwrap().clone();
    assert!(lineage.contains("checkpoint"), "{lineage}");
    assert!(!lineage.contains("cogroup"), "{lineage}");
    // A state is remembered for twice the checkpoint interval (600 ms); checkpoints of
    // forgotten states are deleted: at 900 ms only those at 600 and 900 ms remain.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let times: Vec<&str> = names
        .iter()
        .map(|n| n.rsplit('-').next().unwrap())
        .collect();
    assert_eq!(times, vec!["600", "900"], "{names:?}");
}

#[test]
fn save_as_text_files_writes_one_directory_per_batch_once() {
    let ssc = ssc(100);
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out").to_string_lossy().into_owned();
    // A complete directory from an earlier run is kept; an incomplete one is replaced.
    let done = dir.path().join("out-100");
    std::fs::create_dir_all(&done).unwrap();
    std::fs::write(done.join("_SUCCESS"), b"").unwrap();
    std::fs::write(done.join("part-00000"), b"kept\n").unwrap();
    let partial = dir.path().join("out-200");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("part-00000"), b"half").unwrap();
    queue(&ssc, vec![vec![1u32, 2], vec![3], vec![]], 1).save_as_text_files(prefix, "");
    ssc.start().unwrap();
    ssc.run_batches(3).unwrap();
    ssc.stop(false);
    let read =
        |name: &str| std::fs::read_to_string(dir.path().join(name).join("part-00000")).unwrap();
    assert_eq!(read("out-100"), "kept\n");
    assert_eq!(read("out-200"), "3\n");
    assert!(dir.path().join("out-300/_SUCCESS").exists());
    assert_eq!(read("out-300"), "");
}

#[test]
fn stop_from_inside_a_batch_and_a_graceful_stop_on_the_system_clock() {
    let ctx = Context::local(2).unwrap();
    let ssc = StreamingContext::with_clock(&ctx, Duration::from_millis(20), Arc::new(SystemClock))
        .unwrap();
    let n = Arc::new(Mutex::new(0));
    let (seen, me) = (n.clone(), ssc.clone());
    let c = ctx.clone();
    ssc.input_stream(move |_| Ok(Some(c.parallelize(vec![1u8], 1))))
        .foreach_rdd(move |_, _| {
            let mut k = seen.lock().unwrap();
            *k += 1;
            if *k == 3 {
                me.stop(true);
            }
            Ok(())
        });
    ssc.start().unwrap();
    assert!(ssc
        .await_termination_or_timeout(Duration::from_secs(10))
        .unwrap());
    assert_eq!(*n.lock().unwrap(), 3);
    assert_eq!(ssc.state(), StreamingState::Stopped);
}

#[test]
fn text_file_stream_reads_each_new_file_once() {
    let ssc = ssc(100);
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("in");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("old.txt"), "present at start\n").unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let seen = out.clone();
    ssc.text_file_stream(&watched).foreach_rdd(move |ds, _| {
        let mut lines = ds.collect()?;
        lines.sort();
        seen.lock().unwrap().push(lines);
        Ok(())
    });
    ssc.start().unwrap();
    ssc.run_batches(1).unwrap();
    // Files move in whole: written beside the directory, then renamed into it.
    let put = |name: &str, text: &str| {
        let tmp = dir.path().join(name);
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, watched.join(name)).unwrap();
    };
    put("a.txt", "a1\na2\n");
    put("b.txt", "b1\n");
    std::fs::write(watched.join(".hidden"), "skipped\n").unwrap();
    ssc.run_batches(1).unwrap();
    ssc.run_batches(1).unwrap();
    put("c.txt", "c1\n");
    ssc.run_batches(1).unwrap();
    // As in Spark, a file older than the remembered minute when it appears is ignored
    // (here: written two minutes ago, then moved in).
    let stale = dir.path().join("stale.txt");
    std::fs::write(&stale, "stale\n").unwrap();
    let two_minutes_ago = std::time::SystemTime::now() - Duration::from_secs(120);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_minutes_ago)
        .unwrap();
    std::fs::rename(&stale, watched.join("stale.txt")).unwrap();
    put("d.txt", "d1\n");
    ssc.run_batches(1).unwrap();
    ssc.stop(false);
    let got = out.lock().unwrap().clone();
    let want: Vec<Vec<String>> = vec![
        vec![],
        vec![s("a1"), s("a2"), s("b1")],
        vec![],
        vec![s("c1")],
        vec![s("d1")],
    ];
    assert_eq!(got, want);
}

#[test]
fn a_missing_directory_fails_at_start() {
    let ssc = ssc(100);
    ssc.text_file_stream("/nonexistent/firesteel-in")
        .foreach_rdd(|_, _| Ok(()));
    let err = ssc.start().unwrap_err().to_string();
    assert!(
        err.contains("/nonexistent/firesteel-in is not a directory"),
        "{err}"
    );
}

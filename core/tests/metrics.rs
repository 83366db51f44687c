//! Metrics and listeners: jobs, stages and tasks report what they did, and progress events
//! count stages and tasks.

use std::sync::{Arc, Mutex};

use firesteel_core::metrics::{JobMetrics, StageInfo, StageMetrics, TaskEnd};
use firesteel_core::{Context, Listener};

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    stages: Mutex<Vec<StageInfo>>,
    tasks: Mutex<Vec<TaskEnd>>,
}

impl Listener for Recorder {
    fn on_job_start(&self, job_id: usize, _name: &str) {
        self.events
            .lock()
            .unwrap()
            .push(format!("job {job_id} start"));
    }
    fn on_stage_submitted(&self, stage: &StageInfo) {
        self.events
            .lock()
            .unwrap()
            .push(format!("stage {} of {}", stage.index, stage.total));
        self.stages.lock().unwrap().push(stage.clone());
    }
    fn on_task_end(&self, task: &TaskEnd) {
        self.tasks.lock().unwrap().push(task.clone());
    }
    fn on_stage_completed(&self, stage: &StageMetrics) {
        self.events.lock().unwrap().push(format!(
            "stage {} done ({} tasks)",
            stage.stage_id, stage.tasks
        ));
    }
    fn on_job_end(&self, job: &JobMetrics) {
        self.events
            .lock()
            .unwrap()
            .push(format!("job {} end {}", job.job_id, job.success));
    }
}

#[test]
fn listener_sees_jobs_stages_and_tasks() {
    let ctx = Context::local(2).unwrap();
    let rec = Arc::new(Recorder::default());
    ctx.add_listener(rec.clone());
    let n = ctx
        .parallelize((0..1000u64).collect(), 4)
        .map(|x| (x % 5, x))
        .reduce_by_key(|a, b| a + b)
        .count()
        .unwrap();
    assert_eq!(n, 5);
    let events = rec.events.lock().unwrap().clone();
    assert_eq!(events.first().unwrap(), "job 0 start");
    assert_eq!(events.last().unwrap(), "job 0 end true");
    assert!(events.contains(&"stage 1 of 2".to_string()), "{events:?}");
    assert!(events.contains(&"stage 2 of 2".to_string()), "{events:?}");
    let stages = rec.stages.lock().unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].num_tasks, 4);
    let tasks = rec.tasks.lock().unwrap();
    assert_eq!(tasks.len(), 8);
    assert!(tasks.iter().all(|t| t.success));
    // Progress counts reach the total within each stage.
    for s in stages.iter() {
        let max = tasks
            .iter()
            .filter(|t| t.stage_id == s.stage_id)
            .map(|t| t.tasks_done)
            .max()
            .unwrap();
        assert_eq!(max, s.num_tasks);
    }
}

#[test]
fn metrics_count_records_and_shuffle_bytes() {
    let ctx = Context::local(2).unwrap();
    let ds = ctx
        .parallelize((0..10_000u64).collect(), 4)
        .map(|x| (x % 100, x))
        .group_by_key();
    assert_eq!(ds.count().unwrap(), 100);
    let job = ctx.last_job_metrics().unwrap();
    assert!(job.success);
    let t = job.totals();
    assert_eq!(
        t.shuffle_records_read, 10_000,
        "group_by_key does not combine map-side"
    );
    assert!(t.shuffle_bytes_written > 10_000 * 16);
    assert_eq!(t.shuffle_bytes_written, t.shuffle_bytes_read);
    assert_eq!(
        t.records_out,
        10_000 + 100,
        "map side writes, result side reads"
    );
    let snap = ctx.metrics();
    assert_eq!((snap.jobs_run, snap.stages_run), (1, 2));
    assert!(snap.to_string().contains("shuffle written"));
}

#[test]
fn a_named_dataset_names_its_jobs_and_stages() {
    let ctx = firesteel_core::Context::local(2).unwrap();
    let counts = ctx
        .parallelize(vec![1u32, 2, 2, 3], 2)
        .map(|x| (x, 1u64))
        .set_name("pairs")
        .reduce_by_key(|a, b| a + b)
        .set_name("counts");
    assert_eq!(counts.count().unwrap(), 3);
    let job = ctx.last_job_metrics().unwrap();
    assert!(job.name.starts_with("counts "), "{}", job.name);
    let names: Vec<&str> = job.stages.iter().map(|s| s.name.as_str()).collect();
    assert!(names.iter().any(|n| n.starts_with("pairs ")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("counts ")), "{names:?}");
}

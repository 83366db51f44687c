//! Job, stage and task metrics, listeners and progress events.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

/// Counters of one task, or sums of counters over many tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskMetrics {
    /// Wall-clock time the task ran.
    pub duration: Duration,
    /// Records the task produced (written to a shuffle or handed to the action).
    pub records_out: u64,
    /// Records read from shuffles.
    pub shuffle_records_read: u64,
    /// Estimated bytes of shuffle output written.
    pub shuffle_bytes_written: u64,
    /// Estimated bytes of shuffle input read.
    pub shuffle_bytes_read: u64,
    /// Bytes written to disk because a memory budget was exceeded.
    pub bytes_spilled: u64,
    /// Cached partitions found in the block store.
    pub cache_hits: u64,
    /// Cached partitions not found (computed and stored).
    pub cache_misses: u64,
    /// Blocks evicted from memory to make room.
    pub cache_evictions: u64,
    /// Misses on partitions that had been cached before and were evicted or lost.
    pub recomputations: u64,
}

impl TaskMetrics {
    /// Adds `other`'s counters to `self`.
    pub fn merge(&mut self, other: &TaskMetrics) {
        self.duration += other.duration;
        self.records_out += other.records_out;
        self.shuffle_records_read += other.shuffle_records_read;
        self.shuffle_bytes_written += other.shuffle_bytes_written;
        self.shuffle_bytes_read += other.shuffle_bytes_read;
        self.bytes_spilled += other.bytes_spilled;
        self.cache_hits += other.cache_hits;
        self.cache_misses += other.cache_misses;
        self.cache_evictions += other.cache_evictions;
        self.recomputations += other.recomputations;
    }
}

/// Live counters of a running task; plain cells, since a task runs on one thread.
#[derive(Debug, Default)]
pub(crate) struct TaskCounters {
    pub records_out: Cell<u64>,
    pub shuffle_records_read: Cell<u64>,
    pub shuffle_bytes_written: Cell<u64>,
    pub shuffle_bytes_read: Cell<u64>,
    pub bytes_spilled: Cell<u64>,
    pub cache_hits: Cell<u64>,
    pub cache_misses: Cell<u64>,
    pub cache_evictions: Cell<u64>,
    pub recomputations: Cell<u64>,
}

impl TaskCounters {
    #[inline]
    pub(crate) fn add(cell: &Cell<u64>, n: u64) {
        cell.set(cell.get() + n);
    }

    pub(crate) fn snapshot(&self, duration: Duration) -> TaskMetrics {
        TaskMetrics {
            duration,
            records_out: self.records_out.get(),
            shuffle_records_read: self.shuffle_records_read.get(),
            shuffle_bytes_written: self.shuffle_bytes_written.get(),
            shuffle_bytes_read: self.shuffle_bytes_read.get(),
            bytes_spilled: self.bytes_spilled.get(),
            cache_hits: self.cache_hits.get(),
            cache_misses: self.cache_misses.get(),
            cache_evictions: self.cache_evictions.get(),
            recomputations: self.recomputations.get(),
        }
    }
}

/// Whether a stage writes a shuffle or computes an action's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageKind {
    /// Writes map outputs for a shuffle.
    ShuffleMap,
    /// Computes the result of an action.
    Result,
}

/// What a listener learns when a stage is submitted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StageInfo {
    /// The job the stage runs for.
    pub job_id: usize,
    /// The stage id (unique within the context).
    pub stage_id: usize,
    /// The stage's final dataset, as `Name[id] at op`.
    pub name: String,
    /// Shuffle map or result stage.
    pub kind: StageKind,
    /// The id of the stage's final dataset.
    pub dataset_id: usize,
    /// 1-based position of this stage among the stages the job runs.
    pub index: usize,
    /// How many stages the job plans to run (skipped stages excluded).
    pub total: usize,
    /// How many tasks this submission runs.
    pub num_tasks: usize,
    /// The attempt number of the stage (0 for the first).
    pub attempt: usize,
}

/// What a listener learns when a task ends.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskEnd {
    /// The job.
    pub job_id: usize,
    /// The stage.
    pub stage_id: usize,
    /// The partition the task computed.
    pub partition: usize,
    /// The attempt number (0 for the first).
    pub attempt: usize,
    /// Whether it succeeded.
    pub success: bool,
    /// Tasks of this stage submission finished so far, successes and failures.
    pub tasks_done: usize,
    /// Tasks in this stage submission.
    pub tasks_total: usize,
    /// The task's counters.
    pub metrics: TaskMetrics,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// Metrics of one stage run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StageMetrics {
    /// The stage id.
    pub stage_id: usize,
    /// The stage's final dataset.
    pub name: String,
    /// Shuffle map or result stage.
    pub kind: StageKind,
    /// Tasks that succeeded.
    pub tasks: usize,
    /// Task attempts that failed (and were retried, or failed the job).
    pub failed_attempts: usize,
    /// Wall-clock time of the stage.
    pub duration: Duration,
    /// Sum of its successful tasks' counters.
    pub totals: TaskMetrics,
}

/// Metrics of one job (one action).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobMetrics {
    /// The job id.
    pub job_id: usize,
    /// The action's dataset.
    pub name: String,
    /// Wall-clock time of the job.
    pub duration: Duration,
    /// Whether the job succeeded.
    pub success: bool,
    /// The stages that ran, in order (a re-run after a lost shuffle output appears again).
    pub stages: Vec<StageMetrics>,
}

impl JobMetrics {
    /// Sum of the counters of all stages.
    pub fn totals(&self) -> TaskMetrics {
        let mut t = TaskMetrics::default();
        for s in &self.stages {
            t.merge(&s.totals);
        }
        t
    }
}

/// A snapshot of the context's metrics, from [`Context::metrics`](crate::Context::metrics).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Jobs run so far.
    pub jobs_run: usize,
    /// Jobs that failed.
    pub jobs_failed: usize,
    /// Stages run (skipped stages, whose shuffle output existed, are not counted).
    pub stages_run: usize,
    /// Task attempts that failed.
    pub task_failures: usize,
    /// Sum of the counters of all successful tasks.
    pub totals: TaskMetrics,
    /// Bytes held by the block store in memory now.
    pub cache_memory_used: usize,
    /// Blocks in the block store now (memory and disk).
    pub cached_blocks: usize,
    /// The most recent jobs' metrics (up to 64).
    pub recent_jobs: Vec<JobMetrics>,
}

impl fmt::Display for MetricsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.totals;
        write!(
            f,
            "jobs {} (failed {}), stages {}, task failures {}, shuffle written {} B, read {} B, \
             spilled {} B, cache hits {}, misses {}, evictions {}, recomputations {}",
            self.jobs_run,
            self.jobs_failed,
            self.stages_run,
            self.task_failures,
            t.shuffle_bytes_written,
            t.shuffle_bytes_read,
            t.bytes_spilled,
            t.cache_hits,
            t.cache_misses,
            t.cache_evictions,
            t.recomputations
        )
    }
}

/// Receives scheduler events, as Spark's `SparkListener` does. All methods have empty
/// defaults. Listeners are called from the thread that runs the job, or from a task's thread
/// for [`on_task_end`](Listener::on_task_end), so they must be cheap.
pub trait Listener: Send + Sync {
    /// A job starts; `name` is the action's dataset.
    fn on_job_start(&self, job_id: usize, name: &str) {
        let _ = (job_id, name);
    }
    /// A stage's tasks are submitted (progress: stage `index` of `total`).
    fn on_stage_submitted(&self, stage: &StageInfo) {
        let _ = stage;
    }
    /// A task attempt ended (progress: `tasks_done` of `tasks_total`).
    fn on_task_end(&self, task: &TaskEnd) {
        let _ = task;
    }
    /// A stage's submission finished.
    fn on_stage_completed(&self, stage: &StageMetrics) {
        let _ = stage;
    }
    /// A job ended.
    fn on_job_end(&self, job: &JobMetrics) {
        let _ = job;
    }
}

//! Job groups and cancellation, as Spark's `setJobGroup`, `cancelJobGroup` and
//! `cancelAllJobs`. A thread puts the jobs it starts into a group; another thread can
//! cancel the group's running jobs (or all running jobs). A cancelled job's tasks stop at
//! their next batch of records, tasks not yet started do not start, and the job returns
//! [`Error::Cancelled`]. Jobs the group starts afterwards run normally, as in Spark.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use crate::context::Context;
use crate::error::{Error, Result};

/// Whether a job was cancelled, and why.
#[derive(Debug, Default)]
pub(crate) struct CancelFlag {
    cancelled: AtomicBool,
    reason: Mutex<String>,
}

impl CancelFlag {
    fn cancel(&self, reason: String) {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = reason;
        self.cancelled.store(true, Ordering::Release);
    }

    /// `Err(Cancelled)` once the job is cancelled.
    pub(crate) fn check(&self) -> Result<()> {
        if self.cancelled.load(Ordering::Acquire) {
            let reason = self.reason.lock().unwrap_or_else(|e| e.into_inner());
            return Err(Error::Cancelled(reason.clone()));
        }
        Ok(())
    }
}

/// A running job, as the groups see it.
#[derive(Debug)]
struct Active {
    job: usize,
    group: Option<String>,
    flag: Arc<CancelFlag>,
}

/// Each thread's job group, and the running jobs.
#[derive(Debug, Default)]
pub(crate) struct JobGroups {
    /// Group id and description, by the thread that set them.
    by_thread: Mutex<HashMap<ThreadId, (String, String)>>,
    active: Mutex<Vec<Active>>,
}

impl JobGroups {
    /// Registers job `job`, in the calling thread's group; its flag, to be passed to its
    /// tasks, and its group.
    pub(crate) fn begin(&self, job: usize) -> (Arc<CancelFlag>, Option<String>) {
        let group = self
            .by_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&std::thread::current().id())
            .map(|(g, _)| g.clone());
        let flag = Arc::new(CancelFlag::default());
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Active {
                job,
                group: group.clone(),
                flag: flag.clone(),
            });
        (flag, group)
    }

    /// Forgets job `job` once it has ended.
    pub(crate) fn end(&self, job: usize) {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|a| a.job != job);
    }

    /// Cancels the running jobs `which` selects; how many.
    fn cancel(&self, which: impl Fn(&Active) -> bool, why: impl Fn(&Active) -> String) -> usize {
        let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for a in active.iter().filter(|a| which(a)) {
            a.flag.cancel(why(a));
            n += 1;
        }
        n
    }
}

impl Context {
    /// Puts the jobs this thread starts from now on into the group `group_id`, with a
    /// description, as Spark's `setJobGroup` (until [`clear_job_group`](Self::clear_job_group)
    /// or another call).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     // A job whose tasks cancel the group "etl": it fails only when it is in that group.
    ///     let c = ctx.clone();
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2).map(move |x| {
    ///         c.cancel_job_group("etl");
    ///         x
    ///     });
    ///     ctx.set_job_group("etl", "the nightly load");
    ///     assert!(matches!(d.count(), Err(firesteel_core::Error::Cancelled(_))));
    ///     ctx.set_job_group("reports", "the nightly reports");
    ///     assert_eq!(d.count().unwrap(), 3);
    /// });
    /// ```
    pub fn set_job_group(&self, group_id: &str, description: &str) {
        self.inner
            .job_groups
            .by_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                std::thread::current().id(),
                (group_id.to_owned(), description.to_owned()),
            );
    }

    /// Takes this thread's jobs out of their group, as Spark's `clearJobGroup`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let c = ctx.clone();
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2).map(move |x| {
    ///         c.cancel_job_group("etl");
    ///         x
    ///     });
    ///     ctx.set_job_group("etl", "the nightly load");
    ///     ctx.clear_job_group();
    ///     // No longer in "etl": cancelling that group does not reach the job.
    ///     assert_eq!(d.count().unwrap(), 3);
    /// });
    /// ```
    pub fn clear_job_group(&self) {
        self.inner
            .job_groups
            .by_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&std::thread::current().id());
    }

    /// Cancels the running jobs of the group `group_id`, as Spark's `cancelJobGroup`; how
    /// many were running. Their tasks stop at their next batch of records and each job
    /// returns [`Error::Cancelled`].
    ///
    /// ```
    /// use std::time::Duration;
    /// firesteel_core::example(|ctx| {
    ///     let slow = ctx.parallelize((0..20_000u32).collect(), 20).map(|x| {
    ///         std::thread::sleep(Duration::from_micros(50));
    ///         x
    ///     });
    ///     let canceller = ctx.clone();
    ///     let stop = std::thread::spawn(move || {
    ///         std::thread::sleep(Duration::from_millis(100));
    ///         canceller.cancel_job_group("nightly");
    ///     });
    ///     ctx.set_job_group("nightly", "a slow count");
    ///     let err = slow.count().unwrap_err();
    ///     stop.join().unwrap();
    ///     assert!(matches!(err, firesteel_core::Error::Cancelled(_)), "{err}");
    ///     // The context goes on; the group's next jobs run.
    ///     assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    /// });
    /// ```
    pub fn cancel_job_group(&self, group_id: &str) -> usize {
        self.inner.job_groups.cancel(
            |a| a.group.as_deref() == Some(group_id),
            |a| format!("job {} was cancelled with its job group {group_id}", a.job),
        )
    }

    /// Cancels every running job, as Spark's `cancelAllJobs`; how many were running.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     // A job whose tasks cancel every running job, itself included.
    ///     let c = ctx.clone();
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2).map(move |x| {
    ///         c.cancel_all_jobs();
    ///         x
    ///     });
    ///     assert!(matches!(d.count(), Err(firesteel_core::Error::Cancelled(_))));
    ///     assert_eq!(ctx.cancel_all_jobs(), 0); // none is running now
    /// });
    /// ```
    pub fn cancel_all_jobs(&self) -> usize {
        self.inner.job_groups.cancel(
            |_| true,
            |a| format!("job {} was cancelled with all running jobs", a.job),
        )
    }
}

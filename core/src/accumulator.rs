//! Accumulators and broadcast variables.
//!
//! An accumulator update made inside a task goes to a buffer of that task. When the task's
//! stage finishes, the scheduler merges the buffers of successful tasks in partition order,
//! so the final value does not depend on the thread count or on which attempts failed.
//! (As in Spark, updates made in a transformation whose output is recomputed — an evicted
//! cache block, a lost shuffle output — count again; updates in actions count once.)

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::Context;

thread_local! {
    static TASK_UPDATES: RefCell<Option<FxHashMap<usize, Box<dyn PendingUpdate>>>> =
        const { RefCell::new(None) };
}

pub(crate) trait PendingUpdate: Send {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn apply(self: Box<Self>);
    /// Cluster mode: the update, serialized for the other processes.
    fn encode(&self) -> Result<Vec<u8>>;
}

/// Cluster mode: turns a peer's serialized update of one accumulator into a pending update.
pub(crate) type AccDecoder = Arc<dyn Fn(&[u8]) -> Result<Box<dyn PendingUpdate>> + Send + Sync>;

struct Pending<T: Send + Sync + 'static> {
    acc: Accumulator<T>,
    value: T,
}

impl<T: Send + Sync + Clone + Serialize + 'static> PendingUpdate for Pending<T> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn apply(self: Box<Self>) {
        let s = &self.acc.shared;
        let mut v = s.value.lock().unwrap_or_else(|e| e.into_inner());
        (s.merge)(&mut v, self.value);
    }
    fn encode(&self) -> Result<Vec<u8>> {
        postcard::to_allocvec(&self.value).map_err(Error::serde)
    }
}

/// The accumulator updates of one finished task, applied when its stage succeeds.
#[derive(Default)]
pub(crate) struct TaskUpdates(Vec<(usize, Box<dyn PendingUpdate>)>);

impl fmt::Debug for TaskUpdates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskUpdates({})", self.0.len())
    }
}

impl TaskUpdates {
    pub(crate) fn apply(self) {
        for (_, u) in self.0 {
            u.apply();
        }
    }

    /// Cluster mode: the updates serialized, by accumulator id.
    pub(crate) fn encode(&self) -> Result<Vec<(usize, Vec<u8>)>> {
        self.0
            .iter()
            .map(|(id, u)| Ok((*id, u.encode()?)))
            .collect()
    }

    /// Cluster mode: a peer's task updates, for the accumulators this process knows.
    pub(crate) fn decode(
        ctx: &crate::context::ContextInner,
        enc: Vec<(usize, Vec<u8>)>,
    ) -> Result<Self> {
        let decoders = ctx.acc_decoders.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(enc.len());
        for (id, bytes) in enc {
            let d = decoders.get(&id).ok_or_else(|| {
                Error::PlanMismatch(format!("a peer updated accumulator {id}, unknown here"))
            })?;
            out.push((id, d(&bytes)?));
        }
        Ok(TaskUpdates(out))
    }
}

/// Starts buffering accumulator updates on this thread; returns the enclosing buffer (a
/// task can run inside another one's wait, under work stealing).
pub(crate) fn begin_task() -> Option<FxHashMap<usize, Box<dyn PendingUpdate>>> {
    TASK_UPDATES.with(|t| t.borrow_mut().replace(FxHashMap::default()))
}

/// Stops buffering and returns this task's updates, restoring the enclosing buffer.
pub(crate) fn end_task(prev: Option<FxHashMap<usize, Box<dyn PendingUpdate>>>) -> TaskUpdates {
    let map = TASK_UPDATES.with(|t| std::mem::replace(&mut *t.borrow_mut(), prev));
    let mut v: Vec<_> = map.unwrap_or_default().into_iter().collect();
    v.sort_unstable_by_key(|(id, _)| *id);
    TaskUpdates(v)
}

struct Shared<T> {
    name: Option<String>,
    value: Mutex<T>,
    /// The empty value each task's updates start from (the initial value is in `value`,
    /// and so counts once).
    zero: T,
    merge: Box<dyn Fn(&mut T, T) + Send + Sync>,
}

/// A variable that tasks add to and the driver reads, as Spark's `AccumulatorV2`.
///
/// # Examples
/// ```
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let seen = ctx.long_accumulator("seen");
/// let acc = seen.clone();
/// ctx.parallelize((0..100u64).collect(), 4).foreach(move |_| acc.add(1)).unwrap();
/// assert_eq!(seen.value(), 100);
/// ```
pub struct Accumulator<T: Send + Sync + 'static> {
    id: usize,
    shared: Arc<Shared<T>>,
}

impl<T: Send + Sync + 'static> Clone for Accumulator<T> {
    fn clone(&self) -> Self {
        Accumulator {
            id: self.id,
            shared: self.shared.clone(),
        }
    }
}

impl<T: Send + Sync + fmt::Debug + 'static> fmt::Debug for Accumulator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accumulator")
            .field("id", &self.id)
            .field("name", &self.shared.name)
            .field(
                "value",
                &*self.shared.value.lock().unwrap_or_else(|e| e.into_inner()),
            )
            .finish()
    }
}

impl<T: Send + Sync + Clone + Serialize + 'static> Accumulator<T> {
    /// Adds `v`: buffered per task inside a task, applied at once on the driver.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let total = ctx.long_accumulator("total");
    ///     ctx.parallelize(vec![1, 2, 3], 2).foreach(|x| total.add(x)).unwrap();
    ///     total.add(10); // on the driver
    ///     assert_eq!(total.value(), 16);
    /// });
    /// ```
    pub fn add(&self, v: T) {
        let leftover = TASK_UPDATES.with(|t| {
            let mut t = t.borrow_mut();
            let Some(map) = t.as_mut() else {
                return Some(v);
            };
            let entry = map.entry(self.id).or_insert_with(|| {
                Box::new(Pending {
                    acc: self.clone(),
                    value: self.shared.zero.clone(),
                })
            });
            let p = entry
                .as_any_mut()
                .downcast_mut::<Pending<T>>()
                .expect("accumulator ids are unique");
            (self.shared.merge)(&mut p.value, v);
            None
        });
        if let Some(v) = leftover {
            let mut cur = self.shared.value.lock().unwrap_or_else(|e| e.into_inner());
            (self.shared.merge)(&mut cur, v);
        }
    }

    /// The merged value of all finished tasks' updates.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let total = ctx.double_accumulator("total");
    ///     assert_eq!(total.value(), 0.0);
    ///     ctx.parallelize(vec![0.5, 1.5, 2.0], 2).foreach(|x| total.add(x)).unwrap();
    ///     assert_eq!(total.value(), 4.0);
    /// });
    /// ```
    pub fn value(&self) -> T {
        self.shared
            .value
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the value back to the zero value (not the initial one), as Spark's `reset`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let acc = ctx.accumulator(None, 9u64, 0, |acc, x| *acc += x);
    ///     acc.add(1);
    ///     assert_eq!(acc.value(), 10);
    ///     acc.reset();
    ///     assert_eq!(acc.value(), 0);
    /// });
    /// ```
    pub fn reset(&self) {
        *self.shared.value.lock().unwrap_or_else(|e| e.into_inner()) = self.shared.zero.clone();
    }

    /// The accumulator's name, if it has one.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.long_accumulator("seen").name(), Some("seen"));
    ///     assert_eq!(ctx.accumulator(None, 0u64, 0, |a, b| *a += b).name(), None);
    /// });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Whether the value is the zero value, as Spark's `isZero`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let acc = ctx.long_accumulator("n");
    ///     assert!(acc.is_zero());
    ///     acc.add(2);
    ///     assert!(!acc.is_zero());
    /// });
    /// ```
    pub fn is_zero(&self) -> bool
    where
        T: PartialEq,
    {
        *self.shared.value.lock().unwrap_or_else(|e| e.into_inner()) == self.shared.zero
    }
}

/// A read-only value shared with every task, as Spark's `Broadcast`. Locally it is shared by
/// reference. In cluster mode every process runs the driver program and so builds the value
/// itself, once per process; nothing is shipped.
#[derive(Debug)]
pub struct Broadcast<T> {
    id: usize,
    value: Arc<T>,
    destroyed: Arc<std::sync::atomic::AtomicBool>,
}

impl<T> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        Broadcast {
            id: self.id,
            value: self.value.clone(),
            destroyed: self.destroyed.clone(),
        }
    }
}

impl<T> Broadcast<T> {
    /// The value.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let names = ctx.broadcast(vec!["zero".to_string(), "one".into(), "two".into()]);
    ///     assert_eq!(names.value()[1], "one");
    ///     let in_tasks = names.clone();
    ///     let d = ctx.parallelize(vec![2, 0, 1], 2).map(move |i: usize| in_tasks.value()[i].clone());
    ///     assert_eq!(d.collect().unwrap(), vec!["two", "zero", "one"]);
    /// });
    /// ```
    ///
    /// # Panics
    /// After [`destroy`](Self::destroy), with Spark's message (inside a task the panic
    /// fails the task, as Spark's exception does).
    pub fn value(&self) -> &T {
        match self.try_value() {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// The value, or an error after [`destroy`](Self::destroy).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let b = ctx.broadcast(42);
    ///     assert_eq!(b.try_value().unwrap(), &42);
    ///     b.destroy();
    ///     assert!(b.try_value().is_err());
    /// });
    /// ```
    pub fn try_value(&self) -> Result<&T> {
        if self.destroyed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::InvalidArgument(format!(
                "attempted to use Broadcast({}) after it was destroyed",
                self.id
            )));
        }
        Ok(&self.value)
    }

    /// Spark's `unpersist`: drops the copies cached on executors. Tasks here share the
    /// driver's value (and each process of a cluster builds its own), so there are no
    /// copies to drop and the value stays usable.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let b = ctx.broadcast(vec![1, 2, 3]);
    ///     b.unpersist();
    ///     assert_eq!(b.value(), &vec![1, 2, 3]);
    /// });
    /// ```
    pub fn unpersist(&self) {}

    /// Spark's `destroy`: the broadcast can no longer be used, by this handle or any clone
    /// ([`value`](Self::value) panics, [`try_value`](Self::try_value) errs). The value is
    /// freed when the last handle (the program's and those captured by datasets' closures)
    /// is dropped.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let b = ctx.broadcast(vec![1, 2, 3]);
    ///     let in_tasks = b.clone();
    ///     let d = ctx.parallelize(vec![0usize, 2], 2).map(move |i| in_tasks.value()[i]);
    ///     assert_eq!(d.collect().unwrap(), vec![1, 3]);
    ///     b.destroy();
    ///     assert!(b.try_value().is_err());
    ///     assert!(d.collect().unwrap_err().to_string().contains("after it was destroyed"));
    /// });
    /// ```
    pub fn destroy(&self) {
        self.destroyed
            .store(true, std::sync::atomic::Ordering::Release);
    }
    /// The broadcast id.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let (a, b) = (ctx.broadcast(1), ctx.broadcast(2));
    ///     assert_eq!(a.clone().id(), a.id());
    ///     assert_ne!(a.id(), b.id());
    /// });
    /// ```
    pub fn id(&self) -> usize {
        self.id
    }
}

impl Context {
    /// A general accumulator, as Spark's `AccumulatorV2` and PySpark's
    /// `accumulator(value, accum_param)`: it starts at `initial`, each task's updates
    /// start from the empty value `zero` and are folded with `merge` (associative, and
    /// commutative up to the order guarantee above) into the value when the task's stage
    /// finishes. The initial value counts once, however many tasks there are.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     // PySpark: a = sc.accumulator(9); a += 1 on the driver; then 1 per record.
    ///     let a = ctx.accumulator(None, 9u64, 0, |acc, x| *acc += x);
    ///     a.add(1);
    ///     let add = a.clone();
    ///     ctx.parallelize(vec![1, 2, 3, 4, 5], 4).foreach(move |_| add.add(1)).unwrap();
    ///     assert_eq!(a.value(), 15);
    /// });
    /// ```
    pub fn accumulator<T: Send + Sync + Clone + Serialize + DeserializeOwned + 'static>(
        &self,
        name: Option<&str>,
        initial: T,
        zero: T,
        merge: impl Fn(&mut T, T) + Send + Sync + 'static,
    ) -> Accumulator<T> {
        let acc = Accumulator {
            id: self
                .inner
                .next_accumulator
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            shared: Arc::new(Shared {
                name: name.map(str::to_owned),
                value: Mutex::new(initial),
                zero,
                merge: Box::new(merge),
            }),
        };
        if self.inner.backend.is_distributed() {
            let weak = Arc::downgrade(&acc.shared);
            let id = acc.id;
            let decoder: AccDecoder = Arc::new(move |bytes: &[u8]| {
                let shared = weak
                    .upgrade()
                    .ok_or_else(|| Error::Cluster(format!("accumulator {id} was dropped")))?;
                let value: T = postcard::from_bytes(bytes).map_err(|e| {
                    Error::Cluster(format!("a peer's update of accumulator {id}: {e}"))
                })?;
                Ok(Box::new(Pending {
                    acc: Accumulator { id, shared },
                    value,
                }) as Box<dyn PendingUpdate>)
            });
            self.inner
                .acc_decoders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, decoder);
        }
        acc
    }

    /// A `u64` sum (Spark's `longAccumulator`).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let seen = ctx.long_accumulator("seen");
    ///     ctx.parallelize(vec!['a', 'b', 'c'], 2).foreach(|_| seen.add(1)).unwrap();
    ///     assert_eq!((seen.name(), seen.value()), (Some("seen"), 3));
    /// });
    /// ```
    pub fn long_accumulator(&self, name: &str) -> Accumulator<u64> {
        self.accumulator(Some(name), 0u64, 0, |a, b| *a += b)
    }

    /// An `f64` sum (Spark's `doubleAccumulator`).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let total = ctx.double_accumulator("total");
    ///     ctx.parallelize(vec![1.0, 2.5, 3.5], 2).foreach(|x| total.add(x)).unwrap();
    ///     assert_eq!(total.value(), 7.0);
    /// });
    /// ```
    pub fn double_accumulator(&self, name: &str) -> Accumulator<f64> {
        self.accumulator(Some(name), 0.0f64, 0.0, |a, b| *a += b)
    }

    /// A list of values, concatenated in partition order (Spark's `collectionAccumulator`).
    /// Add with `acc.add(vec![x])`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let odd = ctx.collection_accumulator("odd");
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4, 5], 2);
    ///     d.foreach(|x| if x % 2 == 1 { odd.add(vec![x]) }).unwrap();
    ///     assert_eq!(odd.value(), vec![1, 3, 5]);
    /// });
    /// ```
    pub fn collection_accumulator<
        T: Send + Sync + Clone + Serialize + DeserializeOwned + 'static,
    >(
        &self,
        name: &str,
    ) -> Accumulator<Vec<T>> {
        self.accumulator(Some(name), Vec::new(), Vec::new(), |a: &mut Vec<T>, b| {
            a.extend(b)
        })
    }

    /// Shares a read-only value with all tasks.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let b = ctx.broadcast(vec![1, 2, 3, 4, 5]);
    ///     assert_eq!(b.value(), &vec![1, 2, 3, 4, 5]);
    ///     let in_tasks = b.clone();
    ///     let d = ctx.parallelize(vec![0, 0], 2).flat_map(move |_| in_tasks.value().clone());
    ///     assert_eq!(d.collect().unwrap(), vec![1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
    /// });
    /// ```
    pub fn broadcast<T: Send + Sync + 'static>(&self, value: T) -> Broadcast<T> {
        Broadcast {
            id: self
                .inner
                .next_accumulator
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            value: Arc::new(value),
            destroyed: Arc::default(),
        }
    }
}

//! Kafka, as Spark's `spark-streaming-kafka-0-10`: the direct stream
//! ([`StreamingContext::kafka_direct_stream`]) and the batch reader of offset ranges
//! ([`create_rdd`], Spark's `KafkaUtils.createRDD`), on librdkafka through the `rdkafka`
//! crate (the `kafka` feature).
//!
//! Each batch of the direct stream is a set of [`OffsetRange`]s, one per Kafka partition,
//! and each becomes one partition of the batch's dataset, read inside a task. The offsets
//! are Firesteel's: they go into the context's write-ahead log with the batch (under
//! [`StreamingContext::get_or_create`]), so a restarted program reads exactly the ranges
//! that unfinished batches were given and continues after the last one: with an
//! idempotent output, each record's result comes out once. Committing the offsets to the
//! consumer group as well is optional ([`KafkaParams::commit_offsets`]), for monitoring.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firesteel_core::io::{DataSource, RecordBatches};
use firesteel_core::{Context, Dataset, Error, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::context::{InputHooks, StreamingContext};
use crate::dstream::DStream;
use crate::listener::{BatchInfo, StreamingListener};
use crate::time::Time;

/// How long a metadata or offset request, or a read that makes no progress, may take by
/// default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Kafka consumer settings, as Spark's `kafkaParams`: `bootstrap.servers` and any other
/// librdkafka consumer property. Firesteel owns the offsets, so `enable.auto.commit` is
/// always off.
///
/// ```
/// use firesteel_streaming::kafka::KafkaParams;
///
/// let params = KafkaParams::new("127.0.0.1:9092")
///     .set("group.id", "word-count")
///     .set("auto.offset.reset", "earliest");
/// assert_eq!(params.get("group.id"), Some("word-count"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaParams {
    props: BTreeMap<String, String>,
    commit: bool,
    max_rate_per_partition: Option<f64>,
    timeout: Duration,
}

impl KafkaParams {
    /// Settings for the brokers at `bootstrap_servers` (`host:port`, comma-separated).
    /// Without a `group.id`, one is made up; `auto.offset.reset` is Kafka's `latest`
    /// unless set.
    pub fn new(bootstrap_servers: &str) -> Self {
        let mut props = BTreeMap::new();
        props.insert("bootstrap.servers".to_owned(), bootstrap_servers.to_owned());
        KafkaParams {
            props,
            commit: false,
            max_rate_per_partition: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets a consumer property.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.props.insert(key.to_owned(), value.to_owned());
        self
    }

    /// A property, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }

    /// Also commits each finished batch's offsets to the consumer group (as Spark's
    /// `commitAsync`), so that Kafka's tools see the progress. Recovery does not depend
    /// on it.
    pub fn commit_offsets(mut self, commit: bool) -> Self {
        self.commit = commit;
        self
    }

    /// The most records per second read from each partition (Spark's
    /// `spark.streaming.kafka.maxRatePerPartition`): a batch takes at most this times the
    /// batch interval from each partition.
    pub fn max_rate_per_partition(mut self, records_per_second: f64) -> Self {
        self.max_rate_per_partition = Some(records_per_second);
        self
    }

    /// How long a metadata or offset request, or a read that makes no progress, may take
    /// before the batch fails (10 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn servers(&self) -> &str {
        self.get("bootstrap.servers").unwrap_or("")
    }

    fn consumer(&self) -> Result<BaseConsumer> {
        let mut cfg = ClientConfig::new();
        for (k, v) in &self.props {
            cfg.set(k, v);
        }
        if !self.props.contains_key("group.id") {
            cfg.set("group.id", "firesteel");
        }
        cfg.set("enable.auto.commit", "false");
        cfg.set("enable.partition.eof", "false");
        cfg.create().map_err(|e| {
            Error::InvalidArgument(format!("Kafka consumer for {}: {e}", self.servers()))
        })
    }
}

/// A range of offsets of one partition, `from_offset` included and `until_offset` not,
/// as Spark's `OffsetRange`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetRange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The first offset.
    pub from_offset: i64,
    /// One past the last offset.
    pub until_offset: i64,
}

impl OffsetRange {
    /// How many offsets the range covers.
    pub fn count(&self) -> u64 {
        (self.until_offset - self.from_offset).max(0) as u64
    }
}

/// One Kafka record, as Spark's `ConsumerRecord` with byte keys and values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaRecord {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp (ms since the epoch), if it has one.
    pub timestamp: Option<i64>,
    /// The key.
    #[serde(with = "serde_bytes")]
    pub key: Option<Vec<u8>>,
    /// The value.
    #[serde(with = "serde_bytes")]
    pub value: Option<Vec<u8>>,
}

impl KafkaRecord {
    /// The value as UTF-8 text, if it is.
    pub fn value_str(&self) -> Option<&str> {
        self.value
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// Reads the given offset ranges, one dataset partition per range.
struct OffsetRangeSource {
    params: KafkaParams,
    ranges: Vec<OffsetRange>,
}

impl DataSource<KafkaRecord> for OffsetRangeSource {
    fn name(&self) -> String {
        format!(
            "kafka {} ({} offset ranges)",
            self.params.servers(),
            self.ranges.len()
        )
    }

    fn num_partitions(&self) -> usize {
        self.ranges.len()
    }

    fn read_partition(&self, partition: usize) -> Result<RecordBatches<KafkaRecord>> {
        let r = &self.ranges[partition];
        if r.count() == 0 {
            return Ok(Box::new(std::iter::empty()));
        }
        let records = read_range(&self.params, r)?;
        Ok(Box::new(std::iter::once(Ok(records))))
    }
}

/// The records of `r`, in offset order.
fn read_range(params: &KafkaParams, r: &OffsetRange) -> Result<Vec<KafkaRecord>> {
    let what = || {
        format!(
            "Kafka {} topic {} partition {} offsets [{}, {})",
            params.servers(),
            r.topic,
            r.partition,
            r.from_offset,
            r.until_offset
        )
    };
    let consumer = params.consumer()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&r.topic, r.partition, Offset::Offset(r.from_offset))
        .map_err(|e| Error::task_failed(format!("{}: {e}", what())))?;
    consumer
        .assign(&tpl)
        .map_err(|e| Error::task_failed(format!("{}: {e}", what())))?;
    let mut out = Vec::with_capacity(r.count() as usize);
    let mut last_progress = Instant::now();
    let mut next = r.from_offset;
    while next < r.until_offset {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let offset = m.offset();
                if offset < next {
                    continue;
                }
                if offset >= r.until_offset {
                    break;
                }
                out.push(KafkaRecord {
                    topic: r.topic.clone(),
                    partition: r.partition,
                    offset,
                    timestamp: m.timestamp().to_millis(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                });
                next = offset + 1;
                last_progress = Instant::now();
            }
            Some(Err(e)) => return Err(Error::task_failed(format!("{}: {e}", what()))),
            None => {
                if last_progress.elapsed() > params.timeout {
                    return Err(Error::task_failed(format!(
                        "{}: no records after offset {next} for {:?} (the broker is gone, or the \
                         offsets were deleted)",
                        what(),
                        params.timeout
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// The records of `ranges`, one partition per range, as Spark's `KafkaUtils.createRDD`.
/// The ranges are read inside the tasks.
///
/// # Errors
/// None here; reading fails the job's tasks with errors naming the brokers, topic,
/// partition and offsets.
pub fn create_rdd(
    ctx: &Context,
    params: &KafkaParams,
    ranges: &[OffsetRange],
) -> Dataset<KafkaRecord> {
    ctx.read_source(OffsetRangeSource {
        params: params.clone(),
        ranges: ranges.to_vec(),
    })
}

/// Which partitions a direct stream reads, as Spark's `ConsumerStrategies`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerStrategy {
    /// Every partition of these topics, including partitions added later.
    Subscribe(Vec<String>),
    /// Exactly these partitions.
    Assign(Vec<(String, i32)>),
}

/// The direct stream's state: where each partition is, and each batch's ranges.
struct DirectInput {
    ctx: Context,
    params: KafkaParams,
    strategy: ConsumerStrategy,
    batch_ms: i64,
    consumer: Mutex<Option<BaseConsumer>>,
    state: Mutex<DirectState>,
}

#[derive(Default)]
struct DirectState {
    /// The next offset of each partition.
    positions: BTreeMap<(String, i32), i64>,
    batches: BTreeMap<Time, Vec<OffsetRange>>,
    unlogged: Vec<Time>,
    recovered: Option<Time>,
}

impl DirectInput {
    fn with_consumer<R>(&self, f: impl FnOnce(&BaseConsumer) -> Result<R>) -> Result<R> {
        let mut c = self.consumer.lock().unwrap_or_else(|e| e.into_inner());
        if c.is_none() {
            *c = Some(self.params.consumer()?);
        }
        f(c.as_ref().expect("just set"))
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::Unrecoverable(format!("Kafka {}: {what}: {e}", self.params.servers()))
    }

    /// The partitions the strategy names now.
    fn partitions(&self, c: &BaseConsumer) -> Result<Vec<(String, i32)>> {
        match &self.strategy {
            ConsumerStrategy::Assign(list) => Ok(list.clone()),
            ConsumerStrategy::Subscribe(topics) => {
                let mut out = Vec::new();
                for t in topics {
                    let md = c
                        .fetch_metadata(Some(t), self.params.timeout)
                        .map_err(|e| self.err(&format!("metadata of topic {t}"), e))?;
                    for mt in md.topics() {
                        if let Some(e) = mt.error() {
                            return Err(self.err(&format!("topic {t}"), format!("{e:?}")));
                        }
                        out.extend(mt.partitions().iter().map(|p| (t.clone(), p.id())));
                    }
                }
                out.sort();
                Ok(out)
            }
        }
    }

    /// Where a partition seen for the first time starts: the group's committed offset,
    /// or `auto.offset.reset` (earliest or latest, Kafka's default).
    fn start_offset(&self, c: &BaseConsumer, topic: &str, partition: i32) -> Result<i64> {
        let (low, high) = c
            .fetch_watermarks(topic, partition, self.params.timeout)
            .map_err(|e| self.err(&format!("offsets of {topic} partition {partition}"), e))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        if let Ok(committed) = c.committed_offsets(tpl, self.params.timeout) {
            if let Some(Offset::Offset(o)) = committed
                .find_partition(topic, partition)
                .map(|e| e.offset())
            {
                return Ok(o.clamp(low, high));
            }
        }
        Ok(match self.params.get("auto.offset.reset") {
            Some("earliest") | Some("smallest") | Some("beginning") => low,
            _ => high,
        })
    }

    /// The ranges of the batch at `time`: decided before, or from each partition's
    /// position to its end now (capped by the maximum rate).
    fn ranges_for(&self, time: Time) -> Result<Vec<OffsetRange>> {
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = st.batches.get(&time) {
                return Ok(r.clone());
            }
            if st.recovered.is_some_and(|last| time <= last) {
                st.batches.insert(time, Vec::new());
                return Ok(Vec::new());
            }
        }
        let cap = self
            .params
            .max_rate_per_partition
            .map(|r| (r * self.batch_ms as f64 / 1000.0).max(1.0) as i64);
        // In cluster mode rank 0 asks the brokers and the other processes take its ranges.
        let label = format!("the Kafka offset ranges of batch {time}");
        let ranges = self.ctx.agree(&label, || {
            self.with_consumer(|c| {
                let parts = self.partitions(c)?;
                let mut out = Vec::with_capacity(parts.len());
                for (topic, p) in parts {
                    let known = self
                        .state
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .positions
                        .get(&(topic.clone(), p))
                        .copied();
                    let from = match known {
                        Some(o) => o,
                        None => self.start_offset(c, &topic, p)?,
                    };
                    let (_, high) = c
                        .fetch_watermarks(&topic, p, self.params.timeout)
                        .map_err(|e| self.err(&format!("offsets of {topic} partition {p}"), e))?;
                    let until = match cap {
                        Some(cap) => high.min(from + cap),
                        None => high,
                    }
                    .max(from);
                    out.push(OffsetRange {
                        topic,
                        partition: p,
                        from_offset: from,
                        until_offset: until,
                    });
                }
                Ok(out)
            })
        })?;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for r in &ranges {
            st.positions
                .insert((r.topic.clone(), r.partition), r.until_offset);
        }
        st.batches.insert(time, ranges.clone());
        st.unlogged.push(time);
        while st.batches.len() > 256 {
            st.batches.pop_first();
        }
        Ok(ranges)
    }
}

#[derive(Serialize, Deserialize)]
struct Logged {
    time_ms: i64,
    ranges: Vec<OffsetRange>,
}

impl InputHooks for DirectInput {
    fn take_log(&self) -> Option<serde_json::Value> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let times = std::mem::take(&mut st.unlogged);
        let entries: Vec<Logged> = times
            .into_iter()
            .map(|t| Logged {
                time_ms: t.millis(),
                ranges: st.batches.get(&t).cloned().unwrap_or_default(),
            })
            .collect();
        serde_json::to_value(entries).ok()
    }

    fn restore(&self, logged: &[serde_json::Value], last: Time) -> Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for v in logged {
            let entries: Vec<Logged> = serde_json::from_value(v.clone()).map_err(|e| {
                Error::InvalidArgument(format!(
                    "a Kafka write-ahead log entry is not offset ranges: {e}"
                ))
            })?;
            for e in entries {
                let t = Time::from_millis(e.time_ms);
                st.batches.insert(t, e.ranges);
            }
        }
        // Positions continue after the latest logged batch.
        let batches: Vec<Vec<OffsetRange>> = st.batches.values().cloned().collect();
        for ranges in batches {
            for r in ranges {
                st.positions
                    .insert((r.topic.clone(), r.partition), r.until_offset);
            }
        }
        st.unlogged = st.batches.keys().copied().collect();
        st.recovered = Some(last);
        Ok(())
    }

    fn records(&self, time: Time) -> u64 {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.batches
            .get(&time)
            .map_or(0, |r| r.iter().map(OffsetRange::count).sum())
    }
}

/// Commits each finished batch's offsets to the consumer group.
struct Committer {
    input: Arc<DirectInput>,
}

impl StreamingListener for Committer {
    fn on_batch_completed(&self, b: &BatchInfo) {
        // In cluster mode rank 0 commits for all processes.
        if b.failure.is_some() || self.input.ctx.process_rank() != 0 {
            return;
        }
        let ranges = {
            let st = self.input.state.lock().unwrap_or_else(|e| e.into_inner());
            st.batches.get(&b.batch_time).cloned().unwrap_or_default()
        };
        if ranges.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for r in &ranges {
            let _ = tpl.add_partition_offset(&r.topic, r.partition, Offset::Offset(r.until_offset));
        }
        let result = self.input.with_consumer(|c| {
            c.commit(&tpl, CommitMode::Sync)
                .map_err(|e| self.input.err("committing offsets", e))
        });
        if let Err(e) = result {
            tracing::warn!("{e}");
        }
    }
}

impl StreamingContext {
    /// A direct stream from Kafka, as Spark's `KafkaUtils.createDirectStream`: each batch
    /// reads, for every partition `strategy` names, the records from where the previous
    /// batch stopped to the partition's end when the batch is generated (at most
    /// [`KafkaParams::max_rate_per_partition`] per second), one dataset partition per
    /// Kafka partition. A partition seen for the first time starts at the group's
    /// committed offset, or as `auto.offset.reset` says.
    ///
    /// Under [`get_or_create`](Self::get_or_create) the ranges are logged with each batch,
    /// so a restart rereads exactly what unfinished batches were given.
    pub fn kafka_direct_stream(
        &self,
        params: KafkaParams,
        strategy: ConsumerStrategy,
    ) -> DStream<KafkaRecord> {
        let input = Arc::new(DirectInput {
            ctx: self.context().clone(),
            params: params.clone(),
            strategy,
            batch_ms: self.inner.batch_ms,
            consumer: Mutex::new(None),
            state: Mutex::new(DirectState::default()),
        });
        let (ctx, hooks) = (self.context().clone(), input.clone());
        let compute = move |time: Time| -> Result<Option<Dataset<KafkaRecord>>> {
            let ranges = input.ranges_for(time)?;
            Ok(Some(create_rdd(&ctx, &input.params, &ranges)))
        };
        let stream = self.input_node("kafka_direct_stream", Box::new(compute));
        self.add_input(&stream, hooks.clone());
        if params.commit {
            self.add_listener(Arc::new(Committer { input: hooks }));
        }
        stream
    }
}

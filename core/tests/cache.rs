//! Caching: cached datasets are computed once, uncached ones every time, and past the
//! memory budget evicted blocks are recomputed (or read back from disk) correctly.

use firesteel_core::{Accumulator, Context, Dataset, StorageLevel};

fn counted(ctx: &Context, n: u64, parts: usize) -> (Dataset<(u64, Vec<u64>)>, Accumulator<u64>) {
    let computed = ctx.long_accumulator("computed");
    let c = computed.clone();
    let data = ctx.parallelize((0..n).collect(), parts).map(move |x| {
        c.add(1);
        (x, vec![x; 8])
    });
    (data, computed)
}

fn checksum(d: &Dataset<(u64, Vec<u64>)>) -> u64 {
    d.map(|(k, v)| k + v.iter().sum::<u64>())
        .reduce(|a, b| a + b)
        .unwrap()
}

const N: u64 = 4000;
const EXPECTED: u64 = (N * (N - 1) / 2) * 9;

#[test]
fn cached_source_is_computed_once() {
    let ctx = Context::local(2).unwrap();
    let (data, computed) = counted(&ctx, N, 4);
    let data = data.cache();
    for _ in 0..10 {
        assert_eq!(checksum(&data), EXPECTED);
    }
    assert_eq!(computed.value(), N);
    let m = ctx.metrics().totals;
    assert_eq!((m.cache_misses, m.cache_hits), (4, 36));
}

#[test]
fn uncached_source_is_recomputed_every_iteration() {
    let ctx = Context::local(2).unwrap();
    let (data, computed) = counted(&ctx, N, 4);
    for _ in 0..10 {
        assert_eq!(checksum(&data), EXPECTED);
    }
    assert_eq!(computed.value(), 10 * N);
}

fn dataset_bytes(level: StorageLevel) -> usize {
    let ctx = Context::local(2).unwrap();
    let (data, _) = counted(&ctx, N, 8);
    let data = data.persist(level);
    data.count().unwrap();
    data.cached_bytes()
}

#[test]
fn memory_only_past_budget_recomputes_evicted_blocks() {
    let full = dataset_bytes(StorageLevel::MemoryOnly);
    assert!(full > 0);
    let ctx = Context::builder()
        .threads(2)
        .memory(full / 3)
        .build()
        .unwrap();
    let (data, computed) = counted(&ctx, N, 8);
    let data = data.cache();
    for _ in 0..5 {
        assert_eq!(checksum(&data), EXPECTED);
    }
    // Only about a third fits: the rest is recomputed on every pass, never an error.
    assert!(computed.value() > 2 * N, "computed {}", computed.value());
    assert!(computed.value() < 5 * N, "some blocks stayed cached");
    assert!(ctx.metrics().cache_memory_used <= full / 3);
    assert!(ctx.metrics().totals.cache_hits > 0);
}

#[test]
fn lru_evicts_the_least_recently_used_dataset() {
    let full = dataset_bytes(StorageLevel::MemoryOnly);
    // Room for one dataset and a half.
    let ctx = Context::builder()
        .threads(2)
        .memory(full * 3 / 2)
        .build()
        .unwrap();
    let (a, a_count) = counted(&ctx, N, 8);
    let (b, b_count) = counted(&ctx, N, 8);
    let (a, b) = (a.cache(), b.cache());
    assert_eq!(checksum(&a), EXPECTED);
    assert_eq!(checksum(&b), EXPECTED); // evicts about half of a's blocks
    assert!(ctx.metrics().totals.cache_evictions > 0);
    assert_eq!(checksum(&b), EXPECTED); // b is still whole
    assert_eq!(b_count.value(), N);
    assert_eq!(checksum(&a), EXPECTED); // a's evicted blocks are recomputed
    assert!(a_count.value() > N);
    assert!(ctx.metrics().totals.recomputations > 0);
}

#[test]
fn memory_and_disk_spills_evicted_blocks_instead_of_dropping_them() {
    let full = dataset_bytes(StorageLevel::MemoryOnly);
    let ctx = Context::builder()
        .threads(2)
        .memory(full / 3)
        .build()
        .unwrap();
    let (data, computed) = counted(&ctx, N, 8);
    let data = data.persist(StorageLevel::MemoryAndDisk);
    for _ in 0..5 {
        assert_eq!(checksum(&data), EXPECTED);
    }
    assert_eq!(
        computed.value(),
        N,
        "blocks that did not fit were read back from disk"
    );
    assert!(ctx.metrics().totals.bytes_spilled > 0);
}

#[test]
fn disk_only_and_serialized_levels_compute_once() {
    for level in [StorageLevel::DiskOnly, StorageLevel::MemoryOnlySer] {
        let ctx = Context::local(2).unwrap();
        let (data, computed) = counted(&ctx, N, 4);
        let data = data.persist(level);
        for _ in 0..3 {
            assert_eq!(checksum(&data), EXPECTED);
        }
        assert_eq!(computed.value(), N, "{level:?}");
    }
}

#[test]
fn serialized_cache_is_smaller_than_deserialized() {
    let deser = dataset_bytes(StorageLevel::MemoryOnly);
    let ser = dataset_bytes(StorageLevel::MemoryOnlySer);
    assert!(ser > 0 && ser < deser, "ser {ser} deser {deser}");
}

#[test]
fn unpersist_drops_blocks() {
    let ctx = Context::local(2).unwrap();
    let (data, computed) = counted(&ctx, N, 4);
    let data = data.cache();
    assert_eq!(checksum(&data), EXPECTED);
    assert!(ctx.metrics().cached_blocks == 4);
    let data = data.unpersist();
    assert_eq!(ctx.metrics().cached_blocks, 0);
    assert_eq!(checksum(&data), EXPECTED);
    assert_eq!(computed.value(), 2 * N);
}

#[test]
fn dropping_a_cached_dataset_frees_its_blocks() {
    let ctx = Context::local(2).unwrap();
    let data = {
        let (data, _) = counted(&ctx, N, 4);
        data.cache()
    };
    data.count().unwrap();
    assert_eq!(ctx.metrics().cached_blocks, 4);
    drop(data);
    assert_eq!(ctx.metrics().cached_blocks, 0);
    assert_eq!(ctx.metrics().cache_memory_used, 0);
}

#[test]
fn checkpoint_truncates_lineage_and_keeps_data() {
    let ctx = Context::local(2).unwrap();
    let (data, computed) = counted(&ctx, N, 4);
    let sums = data
        .map(|(k, v)| (k % 10, v[0]))
        .reduce_by_key(|a, b| a + b);
    let cp = sums.checkpoint().unwrap();
    assert!(
        !cp.to_debug_string().contains("Shuffled"),
        "{}",
        cp.to_debug_string()
    );
    assert!(cp.is_partitioned(), "the partitioner survives a checkpoint");
    let mut a = cp.collect().unwrap();
    let before = computed.value();
    let mut b = cp.collect().unwrap();
    assert_eq!(
        computed.value(),
        before,
        "reading a checkpoint computes nothing"
    );
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let mut expect = vec![0u64; 10];
    for x in 0..N {
        expect[(x % 10) as usize] += x;
    }
    assert_eq!(
        a,
        expect
            .into_iter()
            .enumerate()
            .map(|(k, v)| (k as u64, v))
            .collect::<Vec<_>>()
    );
}

#[test]
fn checkpoint_to_directory_can_be_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::local(2).unwrap();
    let data = ctx.parallelize((0..100u32).collect(), 3);
    let _ = data.checkpoint_to(dir.path().join("cp")).unwrap();
    let back: Dataset<u32> = ctx.read_checkpoint(dir.path().join("cp")).unwrap();
    assert_eq!(back.collect().unwrap(), (0..100).collect::<Vec<_>>());
    assert!(
        ctx.read_checkpoint::<u32>(dir.path()).is_err(),
        "no _SUCCESS marker"
    );
}

#[test]
fn local_checkpoint_truncates_lineage_and_reads_blocks_from_the_store() {
    // A budget of a few blocks: most of the checkpoint's blocks live on disk.
    let ctx = Context::builder()
        .threads(2)
        .memory(64 * 1024)
        .build()
        .unwrap();
    let (data, computed) = counted(&ctx, N, 8);
    let sums = data
        .map(|(k, v)| (k % 10, v[0]))
        .reduce_by_key(|a, b| a + b);
    let local = sums.local_checkpoint().unwrap();
    assert_eq!(computed.value(), N, "local_checkpoint computes once");
    assert!(local.is_checkpointed() && !sums.is_checkpointed());
    assert_eq!(local.checkpoint_file(), None);
    assert!(local.is_partitioned(), "the partitioner survives");
    let lineage = local.to_debug_string();
    assert_eq!(lineage.lines().count(), 1, "{lineage}");
    let mut first = local.collect().unwrap();
    let again = local.map(|(k, v)| (k, v * 2)).collect().unwrap();
    assert_eq!(computed.value(), N, "reading it computes nothing");
    first.sort();
    let mut expect = [0u64; 10];
    for x in 0..N {
        expect[(x % 10) as usize] += x;
    }
    let expect: Vec<(u64, u64)> = (0..10).map(|k| (k as u64, expect[k])).collect();
    assert_eq!(first, expect);
    assert_eq!(again.len(), 10);
    // Without its blocks there is no lineage to recompute from: an error naming a block.
    let _ = sums.unpersist();
    let err = local.count().unwrap_err().to_string();
    assert!(err.contains("checkpoint block rdd_"), "{err}");
}

#[test]
fn reliable_checkpoints_know_their_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::local(2).unwrap();
    let data = ctx.parallelize((0..10u32).collect(), 3);
    let saved = data.checkpoint_to(dir.path().join("cp")).unwrap();
    assert_eq!(saved.checkpoint_file(), Some(dir.path().join("cp")));
    let back: Dataset<u32> = ctx.read_checkpoint(dir.path().join("cp")).unwrap();
    assert!(back.is_checkpointed());
    assert_eq!(back.checkpoint_file(), Some(dir.path().join("cp")));
    // An object file is data, not a checkpoint.
    data.save_as_object_file(dir.path().join("obj")).unwrap();
    let obj = ctx.object_file::<u32>(dir.path().join("obj")).unwrap();
    assert!(!obj.is_checkpointed() && obj.checkpoint_file().is_none());
    assert!(!data.is_checkpointed());
}

#[test]
fn a_damaged_checkpoint_is_an_error_naming_the_part() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::local(2).unwrap();
    let fresh = || {
        let cp = dir.path().join("cp");
        let _ = std::fs::remove_dir_all(&cp);
        let _ = ctx
            .parallelize((0..1000u32).collect(), 4)
            .checkpoint_to(&cp)
            .unwrap();
        cp
    };
    let read = |cp: &std::path::Path| -> Result<Vec<u32>, String> {
        ctx.read_checkpoint::<u32>(cp)
            .and_then(|d| d.collect())
            .map_err(|e| e.to_string())
    };
    let cp = fresh();
    assert_eq!(read(&cp).unwrap(), (0..1000).collect::<Vec<_>>());
    // A deleted part is missing, not a smaller dataset.
    std::fs::remove_file(cp.join("part-00002")).unwrap();
    let e = read(&cp).unwrap_err();
    assert!(e.contains("part part-00002 is missing"), "{e}");
    // A truncated part.
    let cp = fresh();
    let part = cp.join("part-00001");
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() - 1]).unwrap();
    let e = read(&cp).unwrap_err();
    assert!(e.contains("part part-00001 has"), "{e}");
    // A flipped byte: found by the checksum when the part is read.
    let mut flipped = bytes.clone();
    flipped[3] ^= 0x40;
    std::fs::write(&part, &flipped).unwrap();
    let e = read(&cp).unwrap_err();
    assert!(e.contains("part-00001 is corrupt"), "{e}");
    // A part the manifest does not list.
    let cp = fresh();
    std::fs::copy(cp.join("part-00000"), cp.join("part-00004")).unwrap();
    let e = read(&cp).unwrap_err();
    assert!(e.contains("part-00004 is not in the manifest"), "{e}");
    // An empty _SUCCESS (no manifest) is not trusted.
    std::fs::remove_file(cp.join("part-00004")).unwrap();
    std::fs::write(cp.join("_SUCCESS"), "").unwrap();
    let e = read(&cp).unwrap_err();
    assert!(e.contains("no manifest"), "{e}");
}

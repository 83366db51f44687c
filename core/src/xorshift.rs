//! Spark's `XORShiftRandom` (`org.apache.spark.util.random`), as far as `repartition`
//! uses it: `new XORShiftRandom(partition).nextInt(n)` picks where a partition starts
//! dealing its records round robin. Matching it bit for bit gives `repartition` the
//! layout Scala Spark gives.

use crate::java_hash::{finalize_hash, mix, mix_last};

/// Scala's `MurmurHash3.arraySeed`.
const ARRAY_SEED: i32 = 0x3c07_4a61;

/// Scala's `MurmurHash3.bytesHash(data, seed)`.
fn bytes_hash(data: &[u8], seed: i32) -> i32 {
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        h = mix(h, i32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k = 0i32;
        for (i, &b) in tail.iter().enumerate() {
            k ^= i32::from(b) << (8 * i);
        }
        h = mix_last(h, k);
    }
    finalize_hash(h, data.len() as i32)
}

/// Spark's `XORShiftRandom`: a xorshift generator whose seed is spread by MurmurHash3.
pub(crate) struct XorShiftRandom {
    seed: i64,
}

impl XorShiftRandom {
    /// `new XORShiftRandom(init)`: the seed is `hashSeed(init)`, two MurmurHash3 hashes of
    /// `init`'s eight big-endian bytes.
    pub(crate) fn new(init: i64) -> Self {
        let bytes = init.to_be_bytes();
        let low = bytes_hash(&bytes, ARRAY_SEED);
        let high = bytes_hash(&bytes, low);
        XorShiftRandom {
            seed: (i64::from(high) << 32) | i64::from(low as u32),
        }
    }

    /// `next(bits)`.
    fn next(&mut self, bits: u32) -> i32 {
        let mut s = self.seed ^ (self.seed << 21);
        s ^= ((s as u64) >> 35) as i64;
        s ^= s << 4;
        self.seed = s;
        (s & ((1i64 << bits) - 1)) as i32
    }

    /// `java.util.Random.nextInt(bound)`: uniform in `0..bound`, by rejection.
    pub(crate) fn next_int(&mut self, bound: i32) -> i32 {
        debug_assert!(bound > 0);
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `new XORShiftRandom(pid).nextInt(n)` for pid 0, 1, ..., as printed in
    /// apache/spark PR #37855 (SPARK-40407).
    #[test]
    fn start_positions_are_sparks() {
        let starts = |n: i32, count: i64| -> Vec<i32> {
            (0..count)
                .map(|p| XorShiftRandom::new(p).next_int(n))
                .collect()
        };
        assert_eq!(starts(2, 12), [0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1]);
        assert_eq!(starts(3, 4), [2, 0, 1, 2]);
        assert_eq!(
            starts(45, 12),
            [23, 18, 13, 2, 43, 10, 35, 40, 5, 23, 14, 2]
        );
        assert_eq!(
            starts(46, 12),
            [12, 45, 12, 35, 41, 31, 32, 34, 9, 6, 45, 6]
        );
    }
}

//! Java's `hashCode` and Scala's `##` of the values Spark keys are made of, so that
//! [`JavaHashPartitioner`](crate::JavaHashPartitioner) places keys where Scala Spark's
//! `HashPartitioner` does (`nonNegativeMod(key.hashCode, n)`).
//!
//! The rules, from the JDK and from Scala 2.13's `scala.runtime.Statics` and
//! `scala.util.hashing.MurmurHash3` (Spark 4 runs on Scala 2.13):
//! - `Int`, `Short`, `Byte`, `Char`: the value; `Boolean`: 1231 or 1237;
//! - `Long`: `(int) (v ^ (v >>> 32))`; `Double` and `Float`: the same of their bits, with
//!   NaN made canonical;
//! - `String`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units;
//! - tuples: Scala's `productHash` (MurmurHash3 from the seed `0xcafebabe`, mixing the hash
//!   of the name `"Tuple2"`, then each field's `##`, then finalizing with the arity). A
//!   field's `##` differs from its `hashCode` for `Long`, `Double` and `Float`: a value equal
//!   to an `Int` hashes as that `Int` (so `-1L` inside a tuple hashes to -1, but a key `-1L`
//!   to 0).
//! - `null` (a `None` here): 0.

/// Java's `hashCode` and Scala's `##` of a value, for keys placed as Scala Spark places
/// them. Implemented for the Rust types that stand for Spark's key types: `i8`, `i16`,
/// `i32` (`Int`), `i64` (`Long`), `f32`, `f64`, `bool`, `char`, `str` and `String`,
/// `Option` (a `None` is Java's `null`), references, and tuples of up to four of these.
///
/// ```
/// use firesteel_core::partitioner::JavaHash;
/// assert_eq!("hello".hash_code(), 99162322); // "hello".hashCode() in Java
/// assert_eq!((-1i64).hash_code(), 0); // java.lang.Long.hashCode(-1L)
/// assert_eq!((1, 1).hash_code(), -1669302457); // (1, 1).hashCode in Scala 2.13
/// ```
pub trait JavaHash {
    /// Java's `hashCode()` of the value (for a tuple, Scala's).
    fn hash_code(&self) -> i32;
    /// Scala's `##`, which a tuple mixes for each field: the same as
    /// [`hash_code`](Self::hash_code) except for whole numbers held in a `Long`, `Double`
    /// or `Float`.
    fn scala_hash(&self) -> i32 {
        self.hash_code()
    }
}

macro_rules! int_hash {
    ($($t:ty),*) => {$(
        impl JavaHash for $t {
            #[inline]
            fn hash_code(&self) -> i32 {
                i32::from(*self)
            }
        }
    )*};
}

int_hash!(i8, i16, i32);

/// `java.lang.Long.hashCode`.
fn long_hash_code(v: i64) -> i32 {
    (v ^ ((v as u64) >> 32) as i64) as i32
}

impl JavaHash for i64 {
    #[inline]
    fn hash_code(&self) -> i32 {
        long_hash_code(*self)
    }
    /// `Statics.longHash`: the value itself when it fits an `Int`.
    fn scala_hash(&self) -> i32 {
        let iv = *self as i32;
        if i64::from(iv) == *self {
            iv
        } else {
            long_hash_code(*self)
        }
    }
}

impl JavaHash for f64 {
    /// `java.lang.Double.hashCode`: the long hash of `doubleToLongBits` (NaN canonical).
    fn hash_code(&self) -> i32 {
        let bits = if self.is_nan() {
            0x7ff8_0000_0000_0000
        } else {
            self.to_bits() as i64
        };
        long_hash_code(bits)
    }
    /// `Statics.doubleHash`: as an `Int`, a `Long` or a `Float` when it equals one.
    fn scala_hash(&self) -> i32 {
        let dv = *self;
        // Java's narrowing casts saturate and send NaN to 0, as Rust's `as` does.
        let iv = dv as i32;
        if f64::from(iv) == dv {
            return iv;
        }
        let lv = dv as i64;
        if lv as f64 == dv {
            return long_hash_code(lv);
        }
        let fv = dv as f32;
        if f64::from(fv) == dv {
            return fv.hash_code();
        }
        self.hash_code()
    }
}

impl JavaHash for f32 {
    /// `java.lang.Float.hashCode`: `floatToIntBits` (NaN canonical).
    fn hash_code(&self) -> i32 {
        if self.is_nan() {
            0x7fc0_0000
        } else {
            self.to_bits() as i32
        }
    }
    /// `Statics.floatHash`: as an `Int` or a `Long` when it equals one.
    fn scala_hash(&self) -> i32 {
        let fv = *self;
        let iv = fv as i32;
        if iv as f32 == fv {
            return iv;
        }
        let lv = fv as i64;
        if lv as f32 == fv {
            return long_hash_code(lv);
        }
        self.hash_code()
    }
}

impl JavaHash for bool {
    #[inline]
    fn hash_code(&self) -> i32 {
        if *self {
            1231
        } else {
            1237
        }
    }
}

impl JavaHash for char {
    /// `Character.hashCode`: the UTF-16 code unit. A char beyond the Basic Multilingual
    /// Plane, which no Java `char` holds, hashes as its code point.
    #[inline]
    fn hash_code(&self) -> i32 {
        *self as i32
    }
}

impl JavaHash for str {
    /// `String.hashCode`, over the UTF-16 code units.
    fn hash_code(&self) -> i32 {
        self.encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
    }
}

impl JavaHash for String {
    #[inline]
    fn hash_code(&self) -> i32 {
        self.as_str().hash_code()
    }
}

impl<T: JavaHash + ?Sized> JavaHash for &T {
    #[inline]
    fn hash_code(&self) -> i32 {
        (**self).hash_code()
    }
    #[inline]
    fn scala_hash(&self) -> i32 {
        (**self).scala_hash()
    }
}

impl<T: JavaHash> JavaHash for Option<T> {
    /// A `None` is Java's `null`: 0, as both `HashPartitioner` and `##` treat it.
    fn hash_code(&self) -> i32 {
        self.as_ref().map_or(0, T::hash_code)
    }
    fn scala_hash(&self) -> i32 {
        self.as_ref().map_or(0, T::scala_hash)
    }
}

/// Scala's `MurmurHash3.mix`.
pub(crate) fn mix(hash: i32, data: i32) -> i32 {
    let h = mix_last(hash, data).rotate_left(13);
    h.wrapping_mul(5).wrapping_add(0xe654_6b64_u32 as i32)
}

/// Scala's `MurmurHash3.mixLast`.
pub(crate) fn mix_last(hash: i32, data: i32) -> i32 {
    let k = data
        .wrapping_mul(0xcc9e_2d51_u32 as i32)
        .rotate_left(15)
        .wrapping_mul(0x1b87_3593);
    hash ^ k
}

/// Scala's `MurmurHash3.finalizeHash`: the avalanche of `hash ^ length`.
pub(crate) fn finalize_hash(hash: i32, length: i32) -> i32 {
    let mut h = (hash ^ length) as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h as i32
}

/// Scala's `MurmurHash3.productSeed`.
const PRODUCT_SEED: i32 = 0xcafe_babe_u32 as i32;

/// Scala 2.13's `productHash` of a tuple named `name` with fields hashed by `##`.
fn product_hash(name: &str, fields: &[i32]) -> i32 {
    let mut h = mix(PRODUCT_SEED, name.hash_code());
    for &f in fields {
        h = mix(h, f);
    }
    finalize_hash(h, fields.len() as i32)
}

macro_rules! tuple_hash {
    ($($name:literal ($($field:tt $t:ident),+))*) => {$(
        impl<$($t: JavaHash),+> JavaHash for ($($t,)+) {
            fn hash_code(&self) -> i32 {
                product_hash($name, &[$(self.$field.scala_hash()),+])
            }
        }
    )*};
}

tuple_hash! {
    "Tuple2" (0 A, 1 B)
    "Tuple3" (0 A, 1 B, 2 C)
    "Tuple4" (0 A, 1 B, 2 C, 3 D)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_codes() {
        // Values printed by a JDK (17): String, Long, Double and Float hashCode().
        assert_eq!("hello".hash_code(), 99162322);
        assert_eq!("".hash_code(), 0);
        assert_eq!("é".hash_code(), 233);
        assert_eq!("😀".hash_code(), 1772899); // a surrogate pair
        assert_eq!("Welcome to Tutorialspoint.com".hash_code(), 1186874997);
        assert_eq!("Java Exercises.".to_string().hash_code(), -1762987343);
        assert_eq!((-1i64).hash_code(), 0);
        assert_eq!((1i64 << 31).hash_code(), -2147483648);
        assert_eq!(1_000_000_000_000i64.hash_code(), -727379736);
        assert_eq!(42i64.hash_code(), 42);
        assert_eq!(1.0f64.hash_code(), 1072693248);
        assert_eq!(f64::NAN.hash_code(), 2146959360);
        assert_eq!((-f64::NAN).hash_code(), 2146959360);
        assert_eq!((-0.0f64).hash_code(), -2147483648);
        assert_eq!(0.5f64.hash_code(), 1071644672);
        assert_eq!(50f32.hash_code(), 1112014848);
        assert_eq!(f32::NAN.hash_code(), 2143289344);
        assert_eq!((true.hash_code(), false.hash_code()), (1231, 1237));
        assert_eq!(('a'.hash_code(), (-5i32).hash_code()), (97, -5));
        assert_eq!(None::<i32>.hash_code(), 0);
        assert_eq!(Some("hello").hash_code(), 99162322);
    }

    #[test]
    fn scala_hashes_of_whole_numbers() {
        // Statics.longHash, doubleHash and floatHash: whole numbers hash as Ints.
        assert_eq!((-1i64).scala_hash(), -1);
        assert_eq!((1i64 << 40).scala_hash(), (1i64 << 40).hash_code());
        assert_eq!(1.0f64.scala_hash(), 1);
        assert_eq!((-0.0f64).scala_hash(), 0);
        assert_eq!(1e12f64.scala_hash(), 1_000_000_000_000i64.hash_code());
        assert_eq!(0.5f64.scala_hash(), 0.5f32.hash_code());
        assert_eq!(0.1f64.scala_hash(), 0.1f64.hash_code());
        assert_eq!(f64::NAN.scala_hash(), 2146959360);
        assert_eq!(3.0f32.scala_hash(), 3);
    }

    #[test]
    fn scala_tuple_hash_codes() {
        // (1, 1).hashCode printed by a Scala 2.13.3 REPL in apache/spark PR #30477
        // (SPARK-33524).
        assert_eq!((1, 1).hash_code(), -1669302457);
        // Values asserted by reimplementations of Scala's case-class hashing, which
        // compiled them with scalac (Scala 3 runs on the 2.13 library).
        assert_eq!((1, 2).hash_code(), 1316541600);
        assert_eq!((1, 2, 3).hash_code(), 2016703621);
        assert_eq!(("a", "b").hash_code(), 961399813);
        assert_eq!((1, "a".to_string()).hash_code(), 1971805870);
        // A Long field mixes its ##: (-1L, 0) hashes as (-1, 0).
        assert_eq!((-1i64, 0).hash_code(), (-1, 0).hash_code());
    }
}

//! Estimates the in-memory size of a record by walking it with a serde serializer that
//! counts bytes instead of writing them, as Spark's `SizeEstimator` walks objects.
//!
//! Primitives count their width; strings, byte strings, sequences and maps count their
//! contents plus a 24-byte header (a `Vec`'s pointer, capacity and length). Allocator
//! overhead and spare capacity are not counted.

use serde::ser::{self, Serialize};

const HEADER: usize = 24;

/// Estimated bytes of `value` in memory (at least `size_of::<T>()`).
pub(crate) fn size_of_val<T: Serialize>(value: &T) -> usize {
    let mut c = Counter(0);
    match value.serialize(&mut c) {
        Ok(()) => c.0.max(std::mem::size_of::<T>()),
        Err(_) => std::mem::size_of::<T>(),
    }
}

struct Counter(usize);

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("size estimation failed")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Never
    }
}

macro_rules! prim {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, _: $t) -> Result<(), Never> {
            self.0 += std::mem::size_of::<$t>();
            Ok(())
        })*
    };
}

impl ser::Serializer for &mut Counter {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    prim!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
          serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
          serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
          serialize_f64: f64, serialize_char: char);

    fn serialize_str(self, v: &str) -> Result<(), Never> {
        self.0 += HEADER + v.len();
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Never> {
        self.0 += HEADER + v.len();
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Never> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Never> {
        self.0 += 4;
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        self.0 += 4;
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Never> {
        self.0 += HEADER;
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        self.0 += 4;
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Never> {
        self.0 += HEADER;
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        self.0 += 4;
        Ok(self)
    }
}

macro_rules! compound {
    ($tr:ident, $m:ident $(, $key:ty)?) => {
        impl ser::$tr for &mut Counter {
            type Ok = ();
            type Error = Never;
            fn $m<T: ?Sized + Serialize>(&mut self, $(_: $key,)? v: &T) -> Result<(), Never> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        }
    };
}

compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeTupleVariant, serialize_field);
compound!(SerializeStruct, serialize_field, &'static str);
compound!(SerializeStructVariant, serialize_field, &'static str);

impl ser::SerializeMap for &mut Counter {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), Never> {
        k.serialize(&mut **self)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Never> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::size_of_val;

    #[test]
    fn primitives_and_tuples() {
        assert_eq!(size_of_val(&1u64), 8);
        assert_eq!(size_of_val(&(1u32, 2u64)), 16, "at least the shallow size");
        assert_eq!(size_of_val(&1.5f64), 8);
    }

    #[test]
    fn heap_data_is_counted() {
        assert_eq!(size_of_val(&vec![0u64; 100]), 24 + 800);
        assert_eq!(size_of_val(&(7u64, vec![0u64; 100])), 8 + 24 + 800);
        assert_eq!(size_of_val(&"abc".to_string()), 24 + 3);
        assert_eq!(size_of_val(&vec![vec![1u8; 10]; 3]), 24 + 3 * (24 + 10));
    }
}

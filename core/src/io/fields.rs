//! Records as flat rows of fields, for the CSV format: a serde serializer that turns a
//! record (a struct, a tuple, a sequence or one value) into its fields' text, and a probe
//! that tells a record type's shape (its field names, or its arity) without a value.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeOwned, Visitor};
use serde::ser::{self, Impossible, Serialize};

/// The shape of a record type, as its `Deserialize` impl asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A struct, with its fields' names.
    Struct(&'static [&'static str]),
    /// A tuple or tuple struct of this many fields.
    Tuple(usize),
    /// Anything else (one value, a sequence, a map, a struct with flattened fields).
    Other,
}

impl Shape {
    /// The shape of `T`, probed without a value.
    pub(crate) fn of<T: DeserializeOwned>() -> Shape {
        match T::deserialize(Probe) {
            Err(Found(shape)) => shape,
            Ok(_) => Shape::Other,
        }
    }

    /// How many columns a row of this shape has, if fixed.
    pub(crate) fn columns(&self) -> Option<usize> {
        match self {
            Shape::Struct(fields) => Some(fields.len()),
            Shape::Tuple(n) => Some(*n),
            Shape::Other => None,
        }
    }
}

/// The probe's "error": the shape it found.
#[derive(Debug)]
struct Found(Shape);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shape {:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Found(Shape::Other)
    }
}

/// A deserializer that answers every request with the shape requested.
struct Probe;

impl<'de> de::Deserializer<'de> for Probe {
    type Error = Found;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        Err(Found(Shape::Other))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found(Shape::Struct(fields)))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, _: V) -> Result<V::Value, Found> {
        Err(Found(Shape::Tuple(len)))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found(Shape::Tuple(len)))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Found> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct seq map enum identifier ignored_any
    }
}

/// Why a record cannot be a row of fields.
#[derive(Debug)]
pub(crate) struct RowError(pub(crate) String);

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RowError {}

impl ser::Error for RowError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        RowError(msg.to_string())
    }
}

/// One record's fields, with buffers reused from record to record.
#[derive(Debug, Default)]
pub(crate) struct Row {
    /// Field texts; only the first `len` belong to the current record.
    fields: Vec<String>,
    /// Whether each field came from a string (an empty string is then written quoted,
    /// apart from a missing value).
    strings: Vec<bool>,
    len: usize,
    /// The struct field names of the last record, if it was a struct.
    names: Vec<&'static str>,
}

impl Row {
    /// Serializes `record` into the row's fields.
    pub(crate) fn fill<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), RowError> {
        self.len = 0;
        self.names.clear();
        record.serialize(RowSer { row: self })
    }

    /// The current record's fields, with whether each came from a string.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&str, bool)> {
        self.fields[..self.len]
            .iter()
            .map(String::as_str)
            .zip(self.strings[..self.len].iter().copied())
    }

    /// Column names for a header: a struct's field names, `value` for one value, `_1`,
    /// `_2`, ... otherwise (as Spark names a tuple's columns).
    pub(crate) fn header_names(&self) -> Vec<String> {
        if !self.names.is_empty() {
            return self.names.iter().map(|n| n.to_string()).collect();
        }
        if self.len == 1 {
            return vec!["value".into()];
        }
        (1..=self.len).map(|i| format!("_{i}")).collect()
    }

    fn next_field(&mut self) -> &mut String {
        if self.len == self.fields.len() {
            self.fields.push(String::new());
            self.strings.push(false);
        }
        self.strings[self.len] = false;
        let f = &mut self.fields[self.len];
        f.clear();
        self.len += 1;
        f
    }
}

/// Serializes a whole record: a struct, tuple or sequence spreads over fields, anything
/// else is one field.
struct RowSer<'a> {
    row: &'a mut Row,
}

impl<'a> RowSer<'a> {
    fn one(self) -> FieldSer<'a> {
        FieldSer { row: self.row }
    }
}

macro_rules! one_field {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), RowError> {
            self.one().$method(v)
        })*
    };
}

impl<'a> ser::Serializer for RowSer<'a> {
    type Ok = ();
    type Error = RowError;
    type SerializeSeq = Fields<'a>;
    type SerializeTuple = Fields<'a>;
    type SerializeTupleStruct = Fields<'a>;
    type SerializeTupleVariant = Impossible<(), RowError>;
    type SerializeMap = Impossible<(), RowError>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Impossible<(), RowError>;

    one_field! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    }

    fn serialize_none(self) -> Result<(), RowError> {
        self.one().serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), RowError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), RowError> {
        self.one().serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<(), RowError> {
        self.one().serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), RowError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), RowError> {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Fields<'a>, RowError> {
        Ok(Fields { row: self.row })
    }
    fn serialize_tuple(self, _: usize) -> Result<Fields<'a>, RowError> {
        Ok(Fields { row: self.row })
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, RowError> {
        Ok(Fields { row: self.row })
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, RowError> {
        Err(unsupported(&format!("the enum variant {name}::{variant}")))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, RowError> {
        Err(unsupported("a map (or a struct with flattened fields)"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, RowError> {
        Ok(Fields { row: self.row })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, RowError> {
        Err(unsupported(&format!("the enum variant {name}::{variant}")))
    }
}

fn unsupported(what: &str) -> RowError {
    RowError(format!("a CSV row cannot hold {what}"))
}

/// The fields of a struct, tuple or sequence record.
struct Fields<'a> {
    row: &'a mut Row,
}

impl Fields<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RowError> {
        v.serialize(FieldSer { row: self.row })
    }
}

impl ser::SerializeSeq for Fields<'_> {
    type Ok = ();
    type Error = RowError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RowError> {
        self.field(v)
    }
    fn end(self) -> Result<(), RowError> {
        Ok(())
    }
}

impl ser::SerializeTuple for Fields<'_> {
    type Ok = ();
    type Error = RowError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RowError> {
        self.field(v)
    }
    fn end(self) -> Result<(), RowError> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Fields<'_> {
    type Ok = ();
    type Error = RowError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), RowError> {
        self.field(v)
    }
    fn end(self) -> Result<(), RowError> {
        Ok(())
    }
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = RowError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), RowError> {
        self.row.names.push(key);
        self.field(v)
    }
    fn end(self) -> Result<(), RowError> {
        Ok(())
    }
}

/// Serializes one field's value into its text.
struct FieldSer<'a> {
    row: &'a mut Row,
}

impl FieldSer<'_> {
    fn display(self, v: impl fmt::Display) -> Result<(), RowError> {
        let _ = write!(self.row.next_field(), "{v}");
        Ok(())
    }
}

macro_rules! display_field {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), RowError> {
            self.display(v)
        })*
    };
}

impl ser::Serializer for FieldSer<'_> {
    type Ok = ();
    type Error = RowError;
    type SerializeSeq = Impossible<(), RowError>;
    type SerializeTuple = Impossible<(), RowError>;
    type SerializeTupleStruct = Impossible<(), RowError>;
    type SerializeTupleVariant = Impossible<(), RowError>;
    type SerializeMap = Impossible<(), RowError>;
    type SerializeStruct = Impossible<(), RowError>;
    type SerializeStructVariant = Impossible<(), RowError>;

    display_field! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128),
    }

    fn serialize_f32(self, v: f32) -> Result<(), RowError> {
        float(
            self.row.next_field(),
            v,
            v.is_infinite(),
            v.is_sign_negative(),
        );
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), RowError> {
        float(
            self.row.next_field(),
            v,
            v.is_infinite(),
            v.is_sign_negative(),
        );
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), RowError> {
        let row = self.row;
        let f = row.len;
        row.next_field().push(v);
        row.strings[f] = true;
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), RowError> {
        let row = self.row;
        let f = row.len;
        row.next_field().push_str(v);
        row.strings[f] = true;
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), RowError> {
        Err(unsupported("bytes"))
    }
    fn serialize_none(self) -> Result<(), RowError> {
        self.row.next_field();
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), RowError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), RowError> {
        self.row.next_field();
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), RowError> {
        self.row.next_field();
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), RowError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), RowError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), RowError> {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, RowError> {
        Err(nested())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, RowError> {
        Err(nested())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, RowError> {
        Err(nested())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, RowError> {
        Err(nested())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, RowError> {
        Err(nested())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, RowError> {
        Err(nested())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, RowError> {
        Err(nested())
    }
}

/// Writes a float as Spark writes a double, up to notation: the shortest text that reads
/// back exactly, with `.0` on whole numbers (`2.0`), an exponent for very large or small
/// ones (`1e300`, where Spark writes `1.0E300`), `NaN`, and Spark's `Inf` and `-Inf`.
fn float(out: &mut String, v: impl fmt::Debug, infinite: bool, negative: bool) {
    match (infinite, negative) {
        (true, false) => out.push_str("Inf"),
        (true, true) => out.push_str("-Inf"),
        _ => {
            let _ = write!(out, "{v:?}");
        }
    }
}

fn nested() -> RowError {
    RowError("a CSV field cannot hold a nested value (a sequence, tuple, map or struct)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Person {
        name: String,
        age: Option<u32>,
    }

    #[derive(Serialize, Deserialize)]
    struct Id(u64);

    #[test]
    fn shapes_are_probed_without_values() {
        assert_eq!(Shape::of::<Person>(), Shape::Struct(&["name", "age"]));
        assert_eq!(Shape::of::<(u8, String, f64)>(), Shape::Tuple(3));
        assert_eq!(Shape::of::<String>(), Shape::Other);
        assert_eq!(Shape::of::<Vec<String>>(), Shape::Other);
        assert_eq!(Shape::of::<Id>(), Shape::Other);
        assert_eq!(Shape::of::<Person>().columns(), Some(2));
    }

    fn texts(row: &Row) -> Vec<(String, bool)> {
        row.fields().map(|(f, s)| (f.to_string(), s)).collect()
    }

    #[test]
    fn records_become_fields() {
        let mut row = Row::default();
        row.fill(&Person {
            name: "Ann".into(),
            age: None,
        })
        .unwrap();
        assert_eq!(texts(&row), [("Ann".into(), true), ("".into(), false)]);
        assert_eq!(row.header_names(), ["name", "age"]);
        row.fill(&(1u8, 2.5f64, 'x', Some(-3i64))).unwrap();
        assert_eq!(
            texts(&row),
            [
                ("1".into(), false),
                ("2.5".into(), false),
                ("x".into(), true),
                ("-3".into(), false)
            ]
        );
        assert_eq!(row.header_names(), ["_1", "_2", "_3", "_4"]);
        let floats = [
            -2.0,
            1e300,
            1.5e-7,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        row.fill(&floats).unwrap();
        let written: Vec<String> = row.fields().map(|(f, _)| f.to_string()).collect();
        assert_eq!(written, ["-2.0", "1e300", "1.5e-7", "NaN", "Inf", "-Inf"]);
        for (text, v) in written.iter().zip(floats) {
            let back: f64 = text.parse().unwrap();
            assert!(back == v || (back.is_nan() && v.is_nan()), "{text}");
        }
        row.fill("alone").unwrap();
        assert_eq!(row.header_names(), ["value"]);
        assert!(row.fill(&(1, vec![2, 3])).is_err());
    }
}

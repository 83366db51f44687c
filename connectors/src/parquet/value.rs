//! Generic rows ([`Value`]) and numeric columns, converted from Arrow arrays.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

/// One value of a generic row ([`Row`]): what a Parquet column of a simple type holds.
///
/// Booleans become [`Bool`](Value::Bool); signed and unsigned integers up to 64 bits
/// [`Int`](Value::Int) (an unsigned value above `i64::MAX` is an error); 32- and 64-bit
/// floats [`Float`](Value::Float); strings [`Str`](Value::Str); binary columns
/// [`Bytes`](Value::Bytes); a null of any column [`Null`](Value::Null). Other types
/// (dates, timestamps, decimals, nested columns) are read as serde records or Arrow
/// batches instead.
///
/// ```
/// use firesteel_connectors::parquet::Value;
///
/// assert_eq!(Value::Int(3).as_i64(), Some(3));
/// assert_eq!(Value::Int(3).as_f64(), Some(3.0));
/// assert_eq!(Value::Str("a".into()).as_str(), Some("a"));
/// assert!(Value::Null.is_null());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A null.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (any integer column up to 64 bits).
    Int(i64),
    /// A float (32- or 64-bit).
    Float(f64),
    /// A string.
    Str(String),
    /// Binary data.
    Bytes(Vec<u8>),
}

/// A generic row: one [`Value`] per column read, in the order the columns were asked for
/// (or the file's order).
pub type Row = Vec<Value>;

impl Value {
    /// Whether the value is [`Null`](Value::Null).
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The integer, if this is an [`Int`](Value::Int).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The number as an `f64`, if this is an [`Int`](Value::Int) or a
    /// [`Float`](Value::Float).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The boolean, if this is a [`Bool`](Value::Bool).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// The string, if this is a [`Str`](Value::Str).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes, if this is [`Bytes`](Value::Bytes).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(v) => Some(v),
            _ => None,
        }
    }
}

/// Whether a column of type `dt` can be read as [`Value`]s.
pub(crate) fn value_supported(dt: &DataType) -> bool {
    is_numeric(dt)
        || matches!(
            dt,
            DataType::Null
                | DataType::Boolean
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::FixedSizeBinary(_)
        )
}

/// Whether a column of type `dt` can be read as `f64` features.
pub(crate) fn is_numeric(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
    )
}

/// The rows of `batch`, all columns in order. Errors name the column.
pub(crate) fn batch_rows(batch: &RecordBatch) -> Result<Vec<Row>, String> {
    let mut rows: Vec<Row> = (0..batch.num_rows())
        .map(|_| Vec::with_capacity(batch.num_columns()))
        .collect();
    let schema = batch.schema();
    for (col, field) in batch.columns().iter().zip(schema.fields()) {
        push_values(col.as_ref(), &mut rows)
            .map_err(|m| format!("column {:?}: {m}", field.name()))?;
    }
    Ok(rows)
}

macro_rules! push_ints {
    ($col:expr, $rows:expr, $t:ty) => {{
        let a = $col.as_primitive::<$t>();
        for (i, row) in $rows.iter_mut().enumerate() {
            row.push(if a.is_null(i) {
                Value::Null
            } else {
                Value::Int(
                    i64::try_from(a.value(i))
                        .map_err(|_| format!("row {i}: {} does not fit in an i64", a.value(i)))?,
                )
            });
        }
    }};
}

macro_rules! push_floats {
    ($col:expr, $rows:expr, $t:ty) => {{
        let a = $col.as_primitive::<$t>();
        for (i, row) in $rows.iter_mut().enumerate() {
            row.push(if a.is_null(i) {
                Value::Null
            } else {
                Value::Float(f64::from(a.value(i)))
            });
        }
    }};
}

fn push_values<'a>(col: &'a dyn Array, rows: &mut [Row]) -> Result<(), String> {
    let null = |i: usize| col.is_null(i);
    match col.data_type() {
        DataType::Null => rows.iter_mut().for_each(|r| r.push(Value::Null)),
        DataType::Int8 => push_ints!(col, rows, Int8Type),
        DataType::Int16 => push_ints!(col, rows, Int16Type),
        DataType::Int32 => push_ints!(col, rows, Int32Type),
        DataType::Int64 => push_ints!(col, rows, Int64Type),
        DataType::UInt8 => push_ints!(col, rows, UInt8Type),
        DataType::UInt16 => push_ints!(col, rows, UInt16Type),
        DataType::UInt32 => push_ints!(col, rows, UInt32Type),
        DataType::UInt64 => push_ints!(col, rows, UInt64Type),
        DataType::Float32 => push_floats!(col, rows, Float32Type),
        DataType::Float64 => push_floats!(col, rows, Float64Type),
        DataType::Boolean => {
            let a = col.as_boolean();
            for (i, row) in rows.iter_mut().enumerate() {
                row.push(if null(i) {
                    Value::Null
                } else {
                    Value::Bool(a.value(i))
                });
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let get: Box<dyn Fn(usize) -> &'a str + 'a> = match col.data_type() {
                DataType::Utf8 => Box::new(|i| col.as_string::<i32>().value(i)),
                DataType::LargeUtf8 => Box::new(|i| col.as_string::<i64>().value(i)),
                _ => Box::new(|i| col.as_string_view().value(i)),
            };
            for (i, row) in rows.iter_mut().enumerate() {
                row.push(if null(i) {
                    Value::Null
                } else {
                    Value::Str(get(i).to_string())
                });
            }
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => {
            let get: Box<dyn Fn(usize) -> &'a [u8] + 'a> = match col.data_type() {
                DataType::Binary => Box::new(|i| col.as_binary::<i32>().value(i)),
                DataType::LargeBinary => Box::new(|i| col.as_binary::<i64>().value(i)),
                DataType::BinaryView => Box::new(|i| col.as_binary_view().value(i)),
                _ => Box::new(|i| col.as_fixed_size_binary().value(i)),
            };
            for (i, row) in rows.iter_mut().enumerate() {
                row.push(if null(i) {
                    Value::Null
                } else {
                    Value::Bytes(get(i).to_vec())
                });
            }
        }
        other => return Err(format!("type {other} cannot be read as a Value")),
    }
    Ok(())
}

macro_rules! to_f64s {
    ($col:expr, $t:ty) => {{
        let a = $col.as_primitive::<$t>();
        a.values().iter().map(|v| *v as f64).collect()
    }};
}

/// The values of a numeric column as `f64`s, nulls as `None`.
pub(crate) fn nullable_f64s(col: &dyn Array) -> Result<Vec<Option<f64>>, String> {
    let mut rows: Vec<Row> = (0..col.len()).map(|_| Vec::with_capacity(1)).collect();
    push_values(col, &mut rows)?;
    Ok(rows
        .into_iter()
        .map(|r| r.first().and_then(Value::as_f64))
        .collect())
}

/// The values of a numeric column as `f64`s; a null is an error naming its row (counted
/// from 0 in the batch).
pub(crate) fn numeric_values(col: &dyn Array) -> Result<Vec<f64>, String> {
    if col.null_count() > 0 {
        let i = (0..col.len()).find(|&i| col.is_null(i)).unwrap_or(0);
        return Err(format!(
            "null at row {i} (features and labels must not be null)"
        ));
    }
    Ok(match col.data_type() {
        DataType::Int8 => to_f64s!(col, Int8Type),
        DataType::Int16 => to_f64s!(col, Int16Type),
        DataType::Int32 => to_f64s!(col, Int32Type),
        DataType::Int64 => to_f64s!(col, Int64Type),
        DataType::UInt8 => to_f64s!(col, UInt8Type),
        DataType::UInt16 => to_f64s!(col, UInt16Type),
        DataType::UInt32 => to_f64s!(col, UInt32Type),
        DataType::UInt64 => to_f64s!(col, UInt64Type),
        DataType::Float32 => to_f64s!(col, Float32Type),
        DataType::Float64 => to_f64s!(col, Float64Type),
        other => return Err(format!("type {other} is not a number")),
    })
}

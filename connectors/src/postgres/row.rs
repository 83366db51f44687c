//! Records and rows: [`FromRow`] turns a fetched row into a record, [`ToRow`] gives a
//! record's values to the sink, and [`Value`], [`Date`] and [`Timestamp`] are
//! serializable values for generic rows (`Vec<Value>`) and tuples.

use std::error::Error as StdError;
use std::fmt;

use ::postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use ::postgres::Row;
use bytes::BytesMut;
use serde::{Deserialize, Serialize};

use super::partition::{format_date, format_timestamp};

/// The error type of row conversions (the driver's own).
pub type BoxError = Box<dyn StdError + Sync + Send>;

/// A record made from a fetched row.
///
/// Implemented for tuples of up to 12 [`FromSql`] types (column `i` into element `i`;
/// `Option<T>` for nullable columns) and for `Vec<Value>` (every column). A closure works
/// too: [`PgSourceBuilder::build_with`](super::PgSourceBuilder::build_with).
///
/// ```
/// use firesteel_connectors::postgres::{FromRow, Row};
///
/// #[derive(Clone)]
/// struct Person { id: i64, name: String }
///
/// impl FromRow for Person {
///     fn from_row(row: &Row) -> Result<Self, firesteel_connectors::postgres::BoxError> {
///         Ok(Person { id: row.try_get("id")?, name: row.try_get("name")? })
///     }
/// }
/// ```
pub trait FromRow: Sized {
    /// Converts one row.
    fn from_row(row: &Row) -> Result<Self, BoxError>;
}

/// A record written by [`PgSink`](super::PgSink): gives its values, in the order of the
/// sink's columns, to `write`.
///
/// Implemented for tuples of up to 12 [`ToSql`] types and for `Vec<Value>`.
///
/// ```
/// use firesteel_connectors::postgres::{BoxError, ToRow, ToSql};
///
/// #[derive(Clone)]
/// struct Person { id: i64, name: String }
///
/// impl ToRow for Person {
///     fn to_row(
///         &self,
///         write: &mut dyn FnMut(&[&(dyn ToSql + Sync)]) -> Result<(), BoxError>,
///     ) -> Result<(), BoxError> {
///         write(&[&self.id, &self.name])
///     }
/// }
/// ```
pub trait ToRow {
    /// Calls `write` once with the record's values.
    fn to_row(
        &self,
        write: &mut dyn FnMut(&[&(dyn ToSql + Sync)]) -> Result<(), BoxError>,
    ) -> Result<(), BoxError>;
}

macro_rules! tuple_rows {
    ($($name:ident $idx:tt),+) => {
        impl<$($name),+> FromRow for ($($name,)+)
        where
            $($name: for<'a> FromSql<'a>),+
        {
            fn from_row(row: &Row) -> Result<Self, BoxError> {
                let want = [$($idx),+].len();
                if row.len() < want {
                    return Err(format!(
                        "the row has {} column(s), the record {want}", row.len()
                    ).into());
                }
                Ok(($(row.try_get::<_, $name>($idx)?,)+))
            }
        }

        impl<$($name),+> ToRow for ($($name,)+)
        where
            $($name: ToSql + Sync),+
        {
            fn to_row(
                &self,
                write: &mut dyn FnMut(&[&(dyn ToSql + Sync)]) -> Result<(), BoxError>,
            ) -> Result<(), BoxError> {
                write(&[$(&self.$idx),+])
            }
        }
    };
}

tuple_rows!(A 0);
tuple_rows!(A 0, B 1);
tuple_rows!(A 0, B 1, C 2);
tuple_rows!(A 0, B 1, C 2, D 3);
tuple_rows!(A 0, B 1, C 2, D 3, E 4);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

impl FromRow for Vec<Value> {
    fn from_row(row: &Row) -> Result<Self, BoxError> {
        (0..row.len())
            .map(|i| Ok(row.try_get::<_, Value>(i)?))
            .collect()
    }
}

impl ToRow for Vec<Value> {
    fn to_row(
        &self,
        write: &mut dyn FnMut(&[&(dyn ToSql + Sync)]) -> Result<(), BoxError>,
    ) -> Result<(), BoxError> {
        let refs: Vec<&(dyn ToSql + Sync)> = self.iter().map(|v| v as _).collect();
        write(&refs)
    }
}

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_US: i64 = 946_684_800_000_000;
/// Days from 1970-01-01 to 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;

/// A `date`: days since 1970-01-01 (proleptic Gregorian). Displays as `yyyy-mm-dd`.
///
/// ```
/// use firesteel_connectors::postgres::Date;
///
/// assert_eq!(Date(17_720).to_string(), "2018-07-08");
/// assert_eq!(Date::parse("2018-07-08"), Some(Date(17_720)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date(pub i32);

impl Date {
    /// Parses `yyyy-mm-dd`.
    pub fn parse(s: &str) -> Option<Date> {
        super::partition::parse_date(s.trim())
            .and_then(|d| i32::try_from(d).ok())
            .map(Date)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_date(self.0 as i64))
    }
}

/// A `timestamp` (or `timestamptz`, in UTC): microseconds since 1970-01-01 00:00:00.
/// Displays as `yyyy-mm-dd hh:mm:ss[.ffffff]`.
///
/// ```
/// use firesteel_connectors::postgres::Timestamp;
///
/// let t = Timestamp::parse("2018-07-04 03:30:00.25").unwrap();
/// assert_eq!(t.to_string(), "2018-07-04 03:30:00.25");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses `yyyy-mm-dd[ hh:mm[:ss[.ffffff]]]` (or with a `T`).
    pub fn parse(s: &str) -> Option<Timestamp> {
        super::partition::parse_timestamp(s.trim()).map(Timestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_timestamp(self.0))
    }
}

impl<'a> FromSql<'a> for Date {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let d = i32::from_sql(&Type::INT4, raw).map_err(|_| format!("bad {ty} value"))?;
        Ok(Date(d.saturating_add(PG_EPOCH_DAYS)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
}

impl ToSql for Date {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.0
            .saturating_sub(PG_EPOCH_DAYS)
            .to_sql(&Type::INT4, out)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Timestamp {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let t = i64::from_sql(&Type::INT8, raw).map_err(|_| format!("bad {ty} value"))?;
        Ok(Timestamp(t.saturating_add(PG_EPOCH_US)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ
    }
}

impl ToSql for Timestamp {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.0.saturating_sub(PG_EPOCH_US).to_sql(&Type::INT8, out)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ
    }
    to_sql_checked!();
}

/// One column's value in a generic row (`Vec<Value>`), serializable so that rows can be
/// shuffled, cached and spilled.
///
/// Reads `bool`, the integer types, `real` and `double precision`, the text types
/// (`text`, `varchar`, `char`, `name`), `bytea`, `date` and `timestamp(tz)`; other types
/// are an error naming the type (cast them in a query, e.g. `numeric::text`). Writes
/// into a column of a matching type (an `Int` into any integer or floating column whose
/// range holds it, a `Float` into `real` or `double precision`).
///
/// ```
/// use firesteel_connectors::postgres::{Date, Value};
///
/// let row = vec![Value::Int(1), Value::Text("ann".into()), Value::Date(Date(0)), Value::Null];
/// assert_eq!(row[2].to_string(), "1970-01-01");
/// assert!(row[3].is_null());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `bool`.
    Bool(bool),
    /// `smallint`, `integer`, `bigint`.
    Int(i64),
    /// `real`, `double precision`.
    Float(f64),
    /// `text`, `varchar`, `char`, `name`.
    Text(String),
    /// `bytea`.
    Bytes(Vec<u8>),
    /// `date`.
    Date(Date),
    /// `timestamp`, `timestamptz` (UTC).
    Timestamp(Timestamp),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Text(_) => "a text",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "a date",
            Value::Timestamp(_) => "a timestamp",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::Bytes(b) => {
                f.write_str("\\x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
            Value::Date(d) => write!(f, "{d}"),
            Value::Timestamp(t) => write!(f, "{t}"),
        }
    }
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)? as i64),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)? as i64),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::OID => Value::Int(u32::from_sql(ty, raw)? as i64),
            Type::FLOAT4 => Value::Float(f32::from_sql(ty, raw)? as f64),
            Type::FLOAT8 => Value::Float(f64::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Value::Text(String::from_sql(ty, raw)?)
            }
            Type::BYTEA => Value::Bytes(Vec::<u8>::from_sql(ty, raw)?),
            Type::DATE => Value::Date(Date::from_sql(ty, raw)?),
            Type::TIMESTAMP | Type::TIMESTAMPTZ => Value::Timestamp(Timestamp::from_sql(ty, raw)?),
            _ => {
                return Err(format!(
                    "column type {ty} is not supported by Value (cast it, e.g. to text, in a query)"
                )
                .into())
            }
        })
    }
    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Value::Null)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let mismatch = || -> BoxError {
            format!("cannot write {} into a column of type {ty}", self.kind()).into()
        };
        let range = |i: &i64| -> BoxError { format!("{i} is out of range for type {ty}").into() };
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Bool(b), &Type::BOOL) => b.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => {
                i16::try_from(*i).map_err(|_| range(i))?.to_sql(ty, out)
            }
            (Value::Int(i), &Type::INT4) => {
                i32::try_from(*i).map_err(|_| range(i))?.to_sql(ty, out)
            }
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT4) => (*i as f32).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Float(x), &Type::FLOAT4) => (*x as f32).to_sql(ty, out),
            (Value::Float(x), &Type::FLOAT8) => x.to_sql(ty, out),
            (Value::Text(s), &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME) => {
                s.to_sql(ty, out)
            }
            (Value::Bytes(b), &Type::BYTEA) => b.to_sql(ty, out),
            (Value::Date(d), &Type::DATE) => d.to_sql(ty, out),
            (Value::Timestamp(t), &Type::TIMESTAMP | &Type::TIMESTAMPTZ) => t.to_sql(ty, out),
            _ => Err(mismatch()),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

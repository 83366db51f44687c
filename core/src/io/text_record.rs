//! How a record is written as a line of text, as Scala Spark's `toString` writes it: a
//! single value by its `Display` form, a tuple as `(a,1)` with its fields written the same
//! way, nested tuples included. Text outputs (`save_as_text_file`, `pipe`, streaming's
//! `save_as_text_files` and `print`) take any [`TextRecord`].
//!
//! The trait has a marker parameter, `Via`, which the compiler infers: it is what lets
//! one bound cover both every `Display` type and tuples, which Rust's coherence rules
//! would otherwise forbid (a tuple type might one day implement `Display`). Code that
//! passes records on generically carries the marker along:
//!
//! ```
//! use firesteel_core::io::{as_text, TextRecord};
//!
//! fn line<V, T: TextRecord<V>>(record: &T) -> String {
//!     as_text(record).to_string()
//! }
//! assert_eq!(line(&("a", 1)), "(a,1)");
//! assert_eq!(line(&((1, 2.5), 'x', "y".to_string())), "((1,2.5),x,y)");
//! assert_eq!(line(&7u8), "7");
//! ```
//!
//! Numbers keep Rust's `Display` forms: `1.0f64` is written `1` where Scala writes
//! `1.0`.

use std::fmt;
use std::marker::PhantomData;

/// A record that can be written as a line of text, as Scala Spark's `toString` writes it:
/// a single value by its `Display` form, a tuple as `(a,1)`, nested tuples included.
///
/// `Via` is a marker the compiler infers; it names no type a caller needs to write. It is
/// what lets one bound cover both every `Display` type and tuples, which coherence rules
/// would otherwise forbid. Generic code carries it along:
///
/// ```
/// use firesteel_core::io::{as_text, TextRecord};
///
/// fn line<V, T: TextRecord<V>>(record: &T) -> String {
///     as_text(record).to_string()
/// }
/// assert_eq!(line(&("a", 1)), "(a,1)");
/// ```
pub trait TextRecord<Via> {
    /// Writes the record's text form.
    fn fmt_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// The [`TextRecord`] marker of records written by their `Display` form.
#[derive(Debug)]
pub enum ViaDisplay {}

impl<T: fmt::Display + ?Sized> TextRecord<ViaDisplay> for T {
    #[inline]
    fn fmt_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

macro_rules! tuple_text {
    ($(($($field:tt $t:ident $via:ident),+))*) => {$(
        impl<$($t: TextRecord<$via>, $via),+> TextRecord<($($via,)+)> for ($($t,)+) {
            fn fmt_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut sep = "(";
                $(
                    f.write_str(sep)?;
                    self.$field.fmt_text(f)?;
                    sep = ",";
                )+
                let _ = sep;
                f.write_str(")")
            }
        }
    )*};
}

tuple_text! {
    (0 A VA)
    (0 A VA, 1 B VB)
    (0 A VA, 1 B VB, 2 C VC)
    (0 A VA, 1 B VB, 2 C VC, 3 D VD)
    (0 A VA, 1 B VB, 2 C VC, 3 D VD, 4 E VE)
    (0 A VA, 1 B VB, 2 C VC, 3 D VD, 4 E VE, 5 F VF)
}

/// A record's text form as a `Display` value, for `write!` without a `String` in between.
///
/// ```
/// use firesteel_core::io::as_text;
/// assert_eq!(format!("{}", as_text(&("hello", 3))), "(hello,3)");
/// assert_eq!(format!("{}", as_text(&(1,))), "(1)");
/// ```
pub fn as_text<'a, V: 'a, T: TextRecord<V> + ?Sized>(record: &'a T) -> impl fmt::Display + 'a {
    AsText(record, PhantomData::<fn() -> V>)
}

struct AsText<'a, T: ?Sized, V>(&'a T, PhantomData<fn() -> V>);

impl<T: TextRecord<V> + ?Sized, V> fmt::Display for AsText<'_, T, V> {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_text(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<V, T: TextRecord<V>>(record: &T) -> String {
        as_text(record).to_string()
    }

    #[test]
    fn tuples_are_written_as_scala_writes_them() {
        // Scala: ("a", 1).toString == "(a,1)"; Tuple1(1).toString == "(1)".
        assert_eq!(line(&("a".to_string(), 1u64)), "(a,1)");
        assert_eq!(line(&(1,)), "(1)");
        assert_eq!(line(&(("k", 2), -3i32)), "((k,2),-3)");
        assert_eq!(line(&(1, 2, 3, 4, 5, 6)), "(1,2,3,4,5,6)");
        assert_eq!(line(&("", "")), "(,)");
    }

    #[test]
    fn other_records_use_display() {
        assert_eq!(line(&"plain"), "plain");
        assert_eq!(line(&2.5f64), "2.5");
        assert_eq!(line(&'x'), "x");
    }
}

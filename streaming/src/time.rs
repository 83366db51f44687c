//! [`Time`]: a batch's time, and the millisecond durations the stream graph works in.

use std::fmt;
use std::time::Duration;

use firesteel_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// The time of a batch, in milliseconds, as Spark's `Time`: since the Unix epoch on the
/// system clock, or since zero on a [`ManualClock`](crate::ManualClock). A batch's
/// time is the end of the interval it covers.
///
/// ```
/// use firesteel_streaming::Time;
///
/// let t = Time::from_millis(2000);
/// assert_eq!(t.to_string(), "2000 ms");
/// assert_eq!(t.millis(), 2000);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Time(i64);

impl Time {
    /// The time `ms` milliseconds after the clock's origin.
    pub const fn from_millis(ms: i64) -> Time {
        Time(ms)
    }

    /// Milliseconds after the clock's origin.
    pub const fn millis(self) -> i64 {
        self.0
    }

    pub(crate) fn plus(self, ms: i64) -> Time {
        Time(self.0 + ms)
    }

    pub(crate) fn minus(self, ms: i64) -> Time {
        Time(self.0 - ms)
    }
}

impl fmt::Display for Time {
    /// Spark's format, `"<ms> ms"`, as in the banner of [`DStream::print`](crate::DStream::print).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// `d` in whole milliseconds; `what` names the duration in the error. Zero and fractions
/// of a millisecond are errors (Spark's durations are whole milliseconds too).
pub(crate) fn whole_millis(d: Duration, what: &str) -> Result<i64> {
    if d.is_zero() {
        return Err(Error::InvalidArgument(format!("{what} must be positive")));
    }
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        return Err(Error::InvalidArgument(format!(
            "{what} {d:?} is not a whole number of milliseconds"
        )));
    }
    i64::try_from(d.as_millis())
        .map_err(|_| Error::InvalidArgument(format!("{what} {d:?} is too long")))
}

/// Formats milliseconds for messages: `1500 ms`.
pub(crate) fn ms(ms: i64) -> String {
    format!("{ms} ms")
}

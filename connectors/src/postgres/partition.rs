//! Spark's `JDBCRelation.columnPartition`: the WHERE clause of each partition of a read by
//! ranges of a column, and the bound values of integer, date and timestamp columns.
//!
//! The bounds only decide the stride: partition 0 also takes every row below the first
//! boundary and the rows whose column is NULL, and the last partition every row from its
//! lower boundary up, so that each row is read exactly once whatever the bounds.

use super::error::PgError;

/// The kind of a partition column, which decides how its bounds parse and print in the
/// WHERE clauses (Spark's numeric, date and timestamp partition columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A numeric column (`smallint`, `integer`, `bigint`, `numeric`, `real`, `double
    /// precision`); bounds are integers, as in Spark.
    Integer,
    /// A `date` column; bounds are `yyyy-mm-dd`, counted in days since 1970-01-01.
    Date,
    /// A `timestamp` or `timestamptz` column (read in UTC); bounds are `yyyy-mm-dd
    /// hh:mm:ss[.ffffff]`, counted in microseconds since 1970-01-01 00:00:00.
    Timestamp,
}

impl ColumnKind {
    /// Parses a bound given as text (`"42"`, `"2018-07-06"`, `"2018-07-04 03:30:00.0"`)
    /// into the column's internal value: the integer, days or microseconds since the epoch.
    ///
    /// ```
    /// use firesteel_connectors::postgres::ColumnKind;
    ///
    /// assert_eq!(ColumnKind::Integer.parse_bound("-7").unwrap(), -7);
    /// assert_eq!(ColumnKind::Date.parse_bound("1970-01-02").unwrap(), 1);
    /// assert_eq!(ColumnKind::Timestamp.parse_bound("1970-01-01 00:00:01.5").unwrap(), 1_500_000);
    /// assert!(ColumnKind::Date.parse_bound("July 4th").is_err());
    /// ```
    pub fn parse_bound(self, text: &str) -> Result<i64, PgError> {
        let bad = || {
            PgError::InvalidOption(format!(
                "cannot parse the bound value {text:?} as {}",
                self.name()
            ))
        };
        let t = text.trim();
        match self {
            ColumnKind::Integer => t.parse::<i64>().map_err(|_| bad()),
            ColumnKind::Date => parse_date(t).ok_or_else(bad),
            ColumnKind::Timestamp => parse_timestamp(t).ok_or_else(bad),
        }
    }

    /// The SQL literal of an internal value, as Spark writes it in a WHERE clause: the
    /// integer, `'yyyy-mm-dd'`, or `'yyyy-mm-dd hh:mm:ss[.f]'` with the fraction's trailing
    /// zeros dropped.
    ///
    /// ```
    /// use firesteel_connectors::postgres::ColumnKind;
    ///
    /// assert_eq!(ColumnKind::Integer.literal(42), "42");
    /// assert_eq!(ColumnKind::Date.literal(17_720), "'2018-07-08'");
    /// assert_eq!(ColumnKind::Timestamp.literal(1_500_000), "'1970-01-01 00:00:01.5'");
    /// ```
    pub fn literal(self, value: i64) -> String {
        match self {
            ColumnKind::Integer => value.to_string(),
            ColumnKind::Date => format!("'{}'", format_date(value)),
            ColumnKind::Timestamp => format!("'{}'", format_timestamp(value)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            ColumnKind::Integer => "an integer",
            ColumnKind::Date => "a date",
            ColumnKind::Timestamp => "a timestamp",
        }
    }
}

/// The most partitions [`column_partition`] makes (each is a task and a connection).
pub const MAX_PARTITIONS: usize = 1_000_000;

/// The WHERE clause of each partition of a read of `column` (already quoted as SQL) by
/// ranges, exactly as Spark's `JDBCRelation.columnPartition` (Spark 3.2 and later) builds
/// them; `None` reads the whole relation in one partition.
///
/// - one partition when `num_partitions <= 1` or `lower == upper`; an error when
///   `lower > upper`;
/// - fewer partitions, `upper - lower`, when `upper - lower < num_partitions`;
/// - the stride is `upper / n - lower / n` in 34-digit decimal arithmetic rounded to 18
///   places, truncated to an integer; the first boundary moves up by half of the strides
///   that truncation lost, so the first and last partitions are about as wide;
/// - partition 0 is `col < b1 or col is null`, partition i is `col >= bi AND col < bi+1`,
///   the last one is `col >= bn-1`.
///
/// ```
/// use firesteel_connectors::postgres::{column_partition, ColumnKind};
///
/// let parts = column_partition("\"id\"", ColumnKind::Integer, 0, 100, 4).unwrap();
/// assert_eq!(parts, vec![
///     Some("\"id\" < 25 or \"id\" is null".to_string()),
///     Some("\"id\" >= 25 AND \"id\" < 50".to_string()),
///     Some("\"id\" >= 50 AND \"id\" < 75".to_string()),
///     Some("\"id\" >= 75".to_string()),
/// ]);
/// assert_eq!(column_partition("id", ColumnKind::Integer, 5, 5, 4).unwrap(), vec![None]);
/// ```
pub fn column_partition(
    column: &str,
    kind: ColumnKind,
    lower: i64,
    upper: i64,
    num_partitions: usize,
) -> Result<Vec<Option<String>>, PgError> {
    if num_partitions <= 1 || lower == upper {
        return Ok(vec![None]);
    }
    if num_partitions > MAX_PARTITIONS {
        return Err(PgError::InvalidOption(format!(
            "num_partitions {num_partitions} is more than {MAX_PARTITIONS}"
        )));
    }
    if lower > upper {
        return Err(PgError::InvalidOption(format!(
            "the lower bound of partitioning column is larger than the upper bound. \
             Lower bound: {}; Upper bound: {}",
            kind.literal(lower),
            kind.literal(upper)
        )));
    }
    // Spark compares a Long difference, which overflows for bounds far apart.
    let diff = upper.wrapping_sub(lower);
    let n: i128 = if diff >= num_partitions as i64 || diff < 0 {
        num_partitions as i128
    } else {
        diff as i128
    };
    let (stride, align) = stride_and_alignment(lower, upper, n);
    let mut current = lower as i128 + align;
    let lit = |v: i128| kind.literal(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let lo = (i != 0).then(|| format!("{column} >= {}", lit(current)));
        current += stride;
        let hi = (i != n - 1).then(|| format!("{column} < {}", lit(current)));
        out.push(Some(match (lo, hi) {
            (None, Some(hi)) => format!("{hi} or {column} is null"),
            (Some(lo), None) => lo,
            (Some(lo), Some(hi)) => format!("{lo} AND {hi}"),
            (None, None) => unreachable!("n >= 2"),
        }));
    }
    Ok(out)
}

/// Spark's stride and first-boundary alignment, computed as its `BigDecimal` code does:
/// `upper / n` and `lower / n` to 34 significant digits (`MathContext.DECIMAL128`), each
/// rounded half-even to 18 places; the stride is their difference truncated; the lost
/// strides `(precise - stride) * n / stride` and their half are again 34-digit quotients,
/// and `half * stride` rounds half-up to the alignment.
fn stride_and_alignment(lower: i64, upper: i64, n: i128) -> (i128, i128) {
    let scaled = |v: i64| -> i128 {
        let q = Dec::from_unscaled(v.unsigned_abs() as u128, 0)
            .div(n as u128)
            .to_scaled(18);
        if v < 0 {
            -q
        } else {
            q
        }
    };
    const ONE: i128 = 1_000_000_000_000_000_000;
    let precise = scaled(upper) - scaled(lower);
    let stride = precise / ONE;
    if stride <= 0 {
        return (1, 0);
    }
    let frac = (precise - stride * ONE) as u128;
    let lost = Dec::from_unscaled(frac * n as u128, 18).div(stride as u128);
    let align = lost.div(2).mul(stride as u128).round_half_up();
    (stride, align as i128)
}

/// A non-negative decimal `0.d1d2d3... * 10^point`, just enough of `java.math.BigDecimal`
/// to follow Spark's stride arithmetic.
#[derive(Debug, Clone)]
struct Dec {
    digits: Vec<u8>,
    point: i64,
}

const PRECISION: usize = 34;

impl Dec {
    fn from_unscaled(unscaled: u128, scale: i64) -> Dec {
        let digits: Vec<u8> = unscaled.to_string().bytes().map(|b| b - b'0').collect();
        let point = digits.len() as i64 - scale;
        Dec { digits, point }.trim()
    }

    fn trim(mut self) -> Dec {
        let lead = self.digits.iter().take_while(|&&d| d == 0).count();
        if lead == self.digits.len() {
            return Dec {
                digits: Vec::new(),
                point: 0,
            };
        }
        self.digits.drain(..lead);
        self.point -= lead as i64;
        while self.digits.last() == Some(&0) {
            self.digits.pop();
        }
        self
    }

    /// `self / d` to 34 significant digits, rounded half-even.
    fn div(&self, d: u128) -> Dec {
        if self.digits.is_empty() {
            return self.clone();
        }
        let mut q = Vec::new();
        let mut point = self.point;
        let mut rem: u128 = 0;
        let mut i = 0usize;
        loop {
            let next = self.digits.get(i).copied().unwrap_or(0) as u128;
            rem = rem * 10 + next;
            let digit = (rem / d) as u8;
            rem %= d;
            if q.is_empty() && digit == 0 {
                point -= 1;
            } else {
                q.push(digit);
            }
            i += 1;
            let exhausted = i >= self.digits.len() && rem == 0;
            if q.len() > PRECISION || (exhausted && !q.is_empty()) {
                break;
            }
        }
        let sticky = rem != 0 || self.digits.iter().skip(i).any(|&x| x != 0);
        Dec { digits: q, point }.round_even_to(PRECISION, sticky)
    }

    /// Keeps the first `keep` digits, rounding half-even on the digits dropped and `sticky`
    /// (something non-zero beyond them).
    fn round_even_to(mut self, keep: usize, sticky: bool) -> Dec {
        if self.digits.len() <= keep {
            return self.trim();
        }
        let guard = self.digits[keep];
        let rest = sticky || self.digits[keep + 1..].iter().any(|&x| x != 0);
        self.digits.truncate(keep);
        let odd = self.digits.last().is_some_and(|&x| x % 2 == 1);
        if guard > 5 || (guard == 5 && (rest || odd)) {
            self.increment_last();
        }
        self.trim()
    }

    fn increment_last(&mut self) {
        for d in self.digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                return;
            }
        }
        self.digits.insert(0, 1);
        self.point += 1;
    }

    /// Exact `self * m`.
    fn mul(&self, m: u128) -> Dec {
        let mut out = Vec::with_capacity(self.digits.len() + 40);
        let mut carry: u128 = 0;
        for &d in self.digits.iter().rev() {
            let v = d as u128 * m + carry;
            out.push((v % 10) as u8);
            carry = v / 10;
        }
        let mut extra = 0;
        while carry > 0 {
            out.push((carry % 10) as u8);
            carry /= 10;
            extra += 1;
        }
        out.reverse();
        Dec {
            digits: out,
            point: self.point + extra,
        }
        .trim()
    }

    /// The value with `scale` decimal places (rounded half-even), as an integer count of
    /// `10^-scale` (`setScale(scale, HALF_EVEN)` then the unscaled value).
    fn to_scaled(&self, scale: i64) -> i128 {
        let keep = self.point + scale;
        if keep < 0 || self.digits.is_empty() {
            return 0;
        }
        let (digits, bump) = if (keep as usize) < self.digits.len() {
            let r = self.clone().round_even_to(keep as usize, false);
            let shift = r.point - self.point; // a carry made one more integer digit
            (r, shift)
        } else {
            (self.clone(), 0)
        };
        let keep = (keep + bump) as usize;
        let mut v: i128 = 0;
        for k in 0..keep {
            v = v * 10 + digits.digits.get(k).copied().unwrap_or(0) as i128;
        }
        v
    }

    /// `setScale(0, HALF_UP)`.
    fn round_half_up(&self) -> i64 {
        if self.point < 0 {
            return 0;
        }
        let p = self.point as usize;
        let mut v: i64 = 0;
        for k in 0..p {
            v = v
                .saturating_mul(10)
                .saturating_add(self.digits.get(k).copied().unwrap_or(0) as i64);
        }
        if self.digits.get(p).is_some_and(|&d| d >= 5) {
            v = v.saturating_add(1);
        }
        v
    }
}

// Dates and timestamps: proleptic Gregorian, days and microseconds since 1970-01-01 (UTC).

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn num(s: &str, min_len: usize, max_len: usize) -> Option<i64> {
    if s.len() < min_len || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `yyyy`, `yyyy-[m]m` or `yyyy-[m]m-[d]d` (as Spark's `stringToDate`), in days.
fn parse_date_part(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let y = num(it.next()?, 4, 6)?;
    let m = it.next().map_or(Some(1), |m| num(m, 1, 2))? as u32;
    let d = it.next().map_or(Some(1), |d| num(d, 1, 2))? as u32;
    if it.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

pub(crate) fn parse_date(s: &str) -> Option<i64> {
    // Spark ignores what follows the date after a space or a `T`.
    let date = s.split([' ', 'T']).next()?;
    parse_date_part(date)
}

pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let days = parse_date_part(date)?;
    let mut micros: i64 = 0;
    if !time.is_empty() {
        let time = time.strip_suffix('Z').unwrap_or(time);
        let (hms, frac) = match time.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let mut parts = hms.split(':');
        let h = num(parts.next()?, 1, 2)?;
        let mi = num(parts.next()?, 1, 2)?;
        let sec = parts.next().map_or(Some(0), |x| num(x, 1, 2))?;
        if parts.next().is_some() || h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        let mut us = 0;
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Microseconds: pad or cut to 6 digits.
            let mut six: String = f.chars().take(6).collect();
            while six.len() < 6 {
                six.push('0');
            }
            us = six.parse::<i64>().ok()?;
        }
        micros = ((h * 60 + mi) * 60 + sec) * 1_000_000 + us;
    }
    days.checked_mul(86_400_000_000)?.checked_add(micros)
}

pub(crate) fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let (secs, us) = (rest / 1_000_000, rest % 1_000_000);
    let mut s = format!(
        "{} {:02}:{:02}:{:02}",
        format_date(days),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if us != 0 {
        let f = format!("{us:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clauses(col: &str, kind: ColumnKind, lo: &str, hi: &str, n: usize) -> Vec<String> {
        let lo = kind.parse_bound(lo).unwrap();
        let hi = kind.parse_bound(hi).unwrap();
        column_partition(col, kind, lo, hi, n)
            .unwrap()
            .into_iter()
            .map(|c| c.unwrap_or_default())
            .collect()
    }

    // The expected WHERE clauses below are Spark's own, from JDBCSuite
    // (sql/core/src/test/scala/org/apache/spark/sql/jdbc/JDBCSuite.scala).

    #[test]
    fn spark_34843_date_stride_and_first_partition_alignment() {
        // "SPARK-34843: columnPartition should generate the correct stride size and also
        // realign the first partition for better distribution".
        let c = clauses(
            "\"PartitionColumn\"",
            ColumnKind::Date,
            "1930-01-01",
            "2020-12-31",
            1000,
        );
        assert_eq!(c.len(), 1000);
        assert_eq!(
            c[0],
            "\"PartitionColumn\" < '1930-06-02' or \"PartitionColumn\" is null"
        );
        assert_eq!(c[999], "\"PartitionColumn\" >= '2020-08-02'");
    }

    #[test]
    fn spark_22814_date_partition_column() {
        // "SPARK-22814 support date/timestamp types in partitionColumn".
        let c = clauses("\"D\"", ColumnKind::Date, "2018-07-06", "2018-07-20", 3);
        assert_eq!(
            c,
            [
                "\"D\" < '2018-07-11' or \"D\" is null",
                "\"D\" >= '2018-07-11' AND \"D\" < '2018-07-15'",
                "\"D\" >= '2018-07-15'",
            ]
        );
    }

    #[test]
    fn spark_22814_timestamp_partition_column() {
        let c = clauses(
            "\"T\"",
            ColumnKind::Timestamp,
            "2018-07-04 03:30:00.0",
            "2018-07-27 14:11:05.0",
            2,
        );
        assert_eq!(
            c,
            [
                "\"T\" < '2018-07-15 20:50:32.5' or \"T\" is null",
                "\"T\" >= '2018-07-15 20:50:32.5'",
            ]
        );
    }

    #[test]
    fn timestamp_bound_patterns() {
        // "support casting patterns for lower/upper bounds of TimestampType".
        for (lower, middle, upper) in [
            (
                "1972-07-04 03:30:00",
                "1972-07-15 20:50:32.5",
                "1972-07-27 14:11:05",
            ),
            (
                "2019-01-20 12:00:00.502",
                "2019-01-20 12:00:00.751",
                "2019-01-20 12:00:01.000",
            ),
            (
                "2019-01-20T00:00:00.123456",
                "2019-01-20 00:05:00.123456",
                "2019-01-20T00:10:00.123456",
            ),
            (
                "1500-01-20T00:00:00.123456",
                "1500-01-20 00:05:00.123456",
                "1500-01-20T00:10:00.123456",
            ),
        ] {
            let c = clauses("\"T\"", ColumnKind::Timestamp, lower, upper, 2);
            assert_eq!(
                c,
                [
                    format!("\"T\" < '{middle}' or \"T\" is null"),
                    format!("\"T\" >= '{middle}'"),
                ]
            );
        }
    }

    #[test]
    fn integer_partitions_as_spark() {
        // "Partitioning on column where numPartitions are more than the number of total
        // rows": bounds 1..5 with 10 partitions give 4.
        let c = clauses("id", ColumnKind::Integer, "1", "5", 10);
        assert_eq!(
            c,
            [
                "id < 2 or id is null",
                "id >= 2 AND id < 3",
                "id >= 3 AND id < 4",
                "id >= 4",
            ]
        );
        // "Partitioning via JDBCPartitioningInfo API": THEID, 0, 4, 3 gives 3 partitions.
        let c = clauses("THEID", ColumnKind::Integer, "0", "4", 3);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], "THEID < 1 or THEID is null");
        assert!(column_partition("id", ColumnKind::Integer, 0, i64::MAX, usize::MAX).is_err());
        // Equal bounds and zero partitions: one partition reading everything.
        assert_eq!(
            column_partition("id", ColumnKind::Integer, 5, 5, 4).unwrap(),
            vec![None]
        );
        assert_eq!(
            column_partition("id", ColumnKind::Integer, 0, 4, 0).unwrap(),
            vec![None]
        );
        // "Partitioning on column where lowerBound is larger than upperBound".
        let e = column_partition("id", ColumnKind::Integer, 5, 1, 3).unwrap_err();
        assert!(e.to_string().contains(
            "the lower bound of partitioning column is larger than the upper bound. \
             Lower bound: 5; Upper bound: 1"
        ));
    }

    #[test]
    fn overflowing_bounds_keep_the_partition_count() {
        // "overflow of partition bound difference does not give negative stride".
        let c = column_partition("id", ColumnKind::Integer, i64::MIN, i64::MAX, 3).unwrap();
        assert_eq!(c.len(), 3);
        assert!(c[0]
            .as_deref()
            .unwrap()
            .starts_with("id < -3074457345618258"));
    }

    #[test]
    fn uneven_integer_strides_align_the_first_boundary() {
        // 0..10 in 4: precise stride 2.5, stride 2; 0.5 * 4 / 2 = 1 stride lost, half of
        // it (one value) moves the first boundary up: 3, 5, 7 instead of 2, 4, 6.
        let c = clauses("x", ColumnKind::Integer, "0", "10", 4);
        assert_eq!(
            c,
            [
                "x < 3 or x is null",
                "x >= 3 AND x < 5",
                "x >= 5 AND x < 7",
                "x >= 7",
            ]
        );
    }

    #[test]
    fn dates_and_timestamps_round_trip() {
        for days in [-719_528, -1, 0, 1, 10_957, 17_720, 2_932_896] {
            assert_eq!(parse_date(&format_date(days)), Some(days), "{days}");
        }
        for us in [
            0,
            1,
            -1,
            1_500_000,
            1_531_000_000_000_001,
            -62_135_596_800_000_000,
        ] {
            assert_eq!(parse_timestamp(&format_timestamp(us)), Some(us), "{us}");
        }
        assert_eq!(parse_date("2018-7-6"), parse_date("2018-07-06"));
        assert_eq!(parse_date("2018"), parse_date("2018-01-01"));
        assert_eq!(parse_date("2018-02-30"), None);
        assert_eq!(parse_timestamp("2018-07-06 25:00:00"), None);
        assert_eq!(
            parse_timestamp("2018-07-06 1:2"),
            parse_timestamp("2018-07-06 01:02:00")
        );
        assert_eq!(ColumnKind::Timestamp.literal(0), "'1970-01-01 00:00:00'");
    }
}

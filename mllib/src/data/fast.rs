//! Fast paths of the line parsers: a single pass over the bytes of a well-formed line.
//! Anything unusual (a non-ASCII byte, an exponent, a malformed token) returns `None`, and
//! the general parser in `data` handles the line, giving the same result or its error.
//!
//! Numbers of the form `[+-]digits[.digits]` with at most 15 significant digits, the
//! common case in LIBSVM and dense text, are converted as Clinger's fast path does: the
//! digits as an exact integer divided by an exact power of ten, a single correctly
//! rounded division, so the result is the correctly rounded value, as `str::parse` gives.
//! Longer numbers and exponents go through `str::parse`.

/// Exact powers of ten in `f64` (10^22 is the largest).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Whitespace as `split_ascii_whitespace` has it. (A vertical tab is not, so a token
/// holding one fails to parse here and goes to the general path, which splits at it.)
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0C)
}

/// A plain decimal `[+-]digits[.digits]` by Clinger's fast path, or `None`.
#[inline]
pub(super) fn decimal(s: &[u8]) -> Option<f64> {
    let (negative, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut fraction: Option<usize> = None;
    for (i, &b) in digits.iter().enumerate() {
        let d = b.wrapping_sub(b'0');
        if d <= 9 {
            // Leading zeros are not significant digits.
            if mantissa != 0 || d != 0 {
                count += 1;
            }
            mantissa = mantissa * 10 + d as u64;
            if count > 15 {
                return None;
            }
        } else if b == b'.' && fraction.is_none() {
            fraction = Some(i + 1);
        } else {
            return None;
        }
    }
    let len = digits.len();
    let scale = fraction.map_or(0, |f| len - f);
    if len == usize::from(fraction.is_some()) || scale >= POW10.len() {
        return None; // no digits at all, or too many fraction digits
    }
    let v = mantissa as f64 / POW10[scale];
    Some(if negative { -v } else { v })
}

/// The plain decimal starting at `b[i]` and ending at the next space (or the end), by
/// Clinger's fast path, in one pass: the value and the end. `None` if the token is anything
/// else (the caller then takes the token to the next space and parses it in full).
#[inline]
fn scan_decimal(b: &[u8], mut i: usize) -> Option<(f64, usize)> {
    let negative = match b.get(i)? {
        b'-' => {
            i += 1;
            true
        }
        b'+' => {
            i += 1;
            false
        }
        _ => false,
    };
    let (mut mantissa, mut count, mut digits, mut scale) = (0u64, 0usize, 0usize, 0usize);
    let mut point = false;
    while i < b.len() {
        let c = b[i];
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            if mantissa != 0 || d != 0 {
                count += 1;
            }
            mantissa = mantissa * 10 + d as u64;
            digits += 1;
            scale += usize::from(point);
        } else if c == b'.' && !point {
            point = true;
        } else if is_space(c) {
            break;
        } else {
            return None;
        }
        i += 1;
    }
    if digits == 0 || count > 15 || scale >= POW10.len() {
        return None;
    }
    let v = mantissa as f64 / POW10[scale];
    Some((if negative { -v } else { v }, i))
}

/// The number starting at `b[i]` of `line`, up to the next space: the value and the end,
/// or `None` if it is not a finite number.
#[inline]
fn number_at(line: &str, i: usize) -> Option<(f64, usize)> {
    let b = line.as_bytes();
    if let Some(r) = scan_decimal(b, i) {
        return Some(r);
    }
    let end = token_end(b, i);
    Some((finite(&line[i..end])?, end))
}

/// A finite number: [`decimal`], else `str::parse`; `None` if it is neither.
#[inline]
pub(super) fn finite(s: &str) -> Option<f64> {
    if let Some(v) = decimal(s.as_bytes()) {
        return Some(v);
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// The end of the token starting at `i`.
#[inline]
fn token_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && !is_space(b[i]) {
        i += 1;
    }
    i
}

#[inline]
fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    i
}

/// A LIBSVM line (`label index:value ...`) in one pass: `Some(None)` for a blank or `#`
/// line, `Some(Some(label))` with `features` filled, or `None` for the general path.
#[inline]
pub(super) fn libsvm_row(
    line: &str,
    num_features: Option<usize>,
    features: &mut Vec<(usize, f64)>,
) -> Option<Option<f64>> {
    features.clear();
    let b = line.as_bytes();
    let mut i = skip_space(b, 0);
    if i == b.len() || b[i] == b'#' {
        return Some(None);
    }
    let (label, end) = number_at(line, i)?;
    i = end;
    let mut prev = 0usize;
    loop {
        i = skip_space(b, i);
        if i == b.len() {
            return Some(Some(label));
        }
        let start = i;
        let mut idx = 0usize;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 18 {
            idx = idx * 10 + (b[i] - b'0') as usize;
            i += 1;
        }
        if i == start || i == b.len() || b[i] != b':' {
            return None;
        }
        if idx <= prev || num_features.is_some_and(|n| idx > n) {
            return None;
        }
        let (v, end) = number_at(line, i + 1)?;
        features.push((idx - 1, v));
        prev = idx;
        i = end;
    }
}

/// A line of whitespace-separated numbers in one pass: whether it held any, with `values`
/// filled, or `None` for the general path.
#[inline]
pub(super) fn dense_row(line: &str, values: &mut Vec<f64>) -> Option<bool> {
    values.clear();
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        i = skip_space(b, i);
        if i == b.len() {
            return Some(!values.is_empty());
        }
        let (v, end) = number_at(line, i)?;
        values.push(v);
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path gives `str::parse`'s value, bit for bit, wherever it answers.
    #[test]
    fn decimals_equal_str_parse() {
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "+0",
            "0.0",
            "-0.0",
            "1",
            "1.",
            ".5",
            "-.5",
            "0.1",
            "0.263774",
            "-1.247210",
            "123456789012345",
            "0.000000000000000000001",
            "9007199254740993",
            "999999999999999",
            "1.7976931348623157",
            "00000000000000000001.5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // A deterministic spread of mantissas and scales.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 17) as usize + 1;
            let m = x % 10u64.pow(digits.min(16) as u32);
            let scale = (x >> 40) as usize % (digits + 2);
            let s = format!("{m:0digits$}");
            let s = if scale == 0 || scale > s.len() {
                s
            } else {
                format!("{}.{}", &s[..s.len() - scale], &s[s.len() - scale..])
            };
            cases.push(if x & 1 == 1 { format!("-{s}") } else { s });
        }
        let mut answered = 0;
        for s in &cases {
            let want: f64 = s.parse().unwrap();
            if let Some(v) = decimal(s.as_bytes()) {
                assert_eq!(v.to_bits(), want.to_bits(), "{s}");
                answered += 1;
            }
            assert_eq!(finite(s).map(f64::to_bits), Some(want.to_bits()), "{s}");
            let scanned = scan_decimal(format!("{s} 9").as_bytes(), 0);
            assert_eq!(
                scanned.map(|(v, end)| (v.to_bits(), end)),
                decimal(s.as_bytes()).map(|v| (v.to_bits(), s.len())),
                "{s}"
            );
        }
        assert!(
            answered > cases.len() / 2,
            "the fast path answered {answered}"
        );
        for bad in [
            "", "-", ".", "1.2.3", "1e5", "inf", "NaN", "0x10", "1,5", "--1",
        ] {
            assert_eq!(decimal(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(finite("1e5"), Some(1e5));
        assert_eq!(finite("inf"), None);
    }

    #[test]
    fn rows_parse_or_defer() {
        let mut f = Vec::new();
        assert_eq!(libsvm_row(" 1 2:0.5\t7:-3 ", None, &mut f), Some(Some(1.0)));
        assert_eq!(f, [(1, 0.5), (6, -3.0)]);
        assert_eq!(libsvm_row("  # c", None, &mut f), Some(None));
        assert_eq!(libsvm_row("", None, &mut f), Some(None));
        // Deferred to the general path: its errors, and forms it accepts.
        for line in [
            "1 0:1",
            "1 3:1 2:1",
            "1 x:1",
            "1 1:y",
            "1 +1:2",
            "1 1:1\u{b}2:2",
            "1\u{a0}1:2",
        ] {
            assert_eq!(libsvm_row(line, None, &mut f), None, "{line:?}");
        }
        assert_eq!(libsvm_row("1 4:1", Some(3), &mut f), None);
        let mut v = Vec::new();
        assert_eq!(dense_row(" 1 -2.5\t3e2 ", &mut v), Some(true));
        assert_eq!(v, [1.0, -2.5, 300.0]);
        assert_eq!(dense_row("   ", &mut v), Some(false));
        assert_eq!(dense_row("1 x", &mut v), None);
    }
}

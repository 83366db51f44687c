//! What an input path names, as Hadoop's `FileInputFormat` (and so Spark's `textFile`)
//! reads it: a file; a directory, meaning its visible files (names not starting with `_`
//! or `.`, so `_SUCCESS` and hidden files are skipped), not recursively; a glob (`*`, `?`,
//! `[a-z]`, `{a,b}`), meaning every match, directories standing for their visible files;
//! or a comma-separated list of these (commas inside `{}` belong to the glob).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The files an input path names, in order: the list's items in the order given, each
/// item's files in name order. A path that exists is taken as it is, even if its name has
/// commas or glob characters.
///
/// ```
/// use firesteel_core::io::resolve_inputs;
///
/// let dir = tempfile::tempdir().unwrap();
/// for name in ["b.txt", "a.txt", "_SUCCESS", "c.log"] {
///     std::fs::write(dir.path().join(name), "x\n").unwrap();
/// }
/// let names = |spec: String| -> Vec<String> {
///     let files = resolve_inputs(spec.as_ref()).unwrap();
///     files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect()
/// };
/// let d = dir.path().display();
/// assert_eq!(names(format!("{d}")), ["a.txt", "b.txt", "c.log"]);
/// assert_eq!(names(format!("{d}/*.txt")), ["a.txt", "b.txt"]);
/// assert_eq!(names(format!("{d}/{{c,b}}.*")), ["b.txt", "c.log"]);
/// assert_eq!(names(format!("{d}/c.log,{d}/a.txt")), ["c.log", "a.txt"]);
/// assert!(resolve_inputs(format!("{d}/*.csv").as_ref()).is_err());
/// ```
///
/// # Errors
/// [`Error::Io`] for a path that does not exist or a directory that cannot be listed;
/// [`Error::NoMatch`] for a glob that matches nothing.
pub fn resolve_inputs(spec: &Path) -> Result<Vec<PathBuf>> {
    if spec.exists() {
        return files_of(spec);
    }
    let text = spec.to_string_lossy();
    let mut files = Vec::new();
    for item in split_list(&text) {
        let path = Path::new(item);
        if path.exists() || !is_glob(item) {
            files.extend(files_of(path)?);
            continue;
        }
        let mut matches = Vec::new();
        for pattern in expand_braces(item) {
            let options = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: true,
            };
            let paths = glob::glob_with(&pattern, options)
                .map_err(|e| Error::InvalidArgument(format!("bad glob {item:?}: {e}")))?;
            for p in paths {
                let p = p.map_err(|e| {
                    let path = e.path().to_path_buf();
                    Error::io("listing", path, e.into())
                })?;
                if !is_hidden(&p) {
                    matches.push(p);
                }
            }
        }
        matches.sort();
        matches.dedup();
        if matches.is_empty() {
            return Err(Error::NoMatch(item.to_string()));
        }
        for m in matches {
            files.extend(files_of(&m)?);
        }
    }
    Ok(files)
}

/// A file itself, or a directory's visible files in name order.
fn files_of(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("reading", path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| Error::io("listing", path, e))? {
        let entry = entry.map_err(|e| Error::io("listing", path, e))?;
        let p = entry.path();
        if !is_hidden(&p) && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .is_some_and(|n| n.starts_with('_') || n.starts_with('.'))
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Splits on commas outside braces, dropping empty items.
fn split_list(s: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&s[start..]);
    items.retain(|i| !i.is_empty());
    items
}

/// Expands the first `{a,b,...}` group (recursively, so nested and later groups too), as
/// Hadoop's glob syntax has them and the `glob` crate does not.
fn expand_braces(s: &str) -> Vec<String> {
    let Some(open) = s.find('{') else {
        return vec![s.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in s[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![s.to_string()];
    };
    let (head, tail) = (&s[..open], &s[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt = &s[w[0] + 1..w[1]];
        out.extend(expand_braces(&format!("{head}{alt}{tail}")));
    }
    out
}

/// A short quotation of possibly long input for an error message: at most 40 characters,
/// quoted, with `...` when cut.
///
/// ```
/// use firesteel_core::io::excerpt;
///
/// assert_eq!(excerpt("1:x"), "\"1:x\"");
/// assert_eq!(excerpt(&"9".repeat(100)), format!("\"{}\"...", "9".repeat(40)));
/// ```
pub fn excerpt(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_outside_braces() {
        assert_eq!(split_list("a,b{c,d},e"), ["a", "b{c,d}", "e"]);
        assert_eq!(split_list("a,,b,"), ["a", "b"]);
    }

    #[test]
    fn braces_expand_nested_and_repeated() {
        assert_eq!(
            expand_braces("x{a,b}y{1,2}"),
            ["xay1", "xay2", "xby1", "xby2"]
        );
        assert_eq!(expand_braces("{a,b{c,d}}"), ["a", "bc", "bd"]);
        assert_eq!(expand_braces("no{brace"), ["no{brace"]);
    }
}

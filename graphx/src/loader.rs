//! Loading graphs: GraphX's `GraphLoader.edgeListFile`.

use std::path::Path;

use firesteel_core::io::excerpt;
use firesteel_core::{Context, Dataset};

use crate::{Edge, Graph, GraphError, PartitionStrategy, Result, VertexId};

/// Options of [`edge_list_file`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeListOptions {
    /// Orient every edge from the smaller id to the larger (GraphX's
    /// `canonicalOrientation`).
    pub canonical_orientation: bool,
    /// How many edge partitions (0: the context's default parallelism).
    pub num_partitions: usize,
    /// Repartition the edges by this strategy (GraphX leaves them as read).
    pub strategy: Option<PartitionStrategy>,
}

/// An engine error as the loader reports it: a parse or I/O error of the input by itself
/// (as a driver-side parse gives it), anything else wrapped.
fn input_error(e: firesteel_core::Error) -> GraphError {
    match e {
        firesteel_core::Error::JobFailed { cause, .. } => input_error(*cause),
        firesteel_core::Error::Parse {
            path,
            line,
            message,
        } => GraphError::Parse {
            path,
            line,
            message,
        },
        firesteel_core::Error::Io { path, source, .. } => GraphError::Io { path, source },
        other => GraphError::Engine(other),
    }
}

/// ASCII whitespace, as `split_ascii_whitespace` has it.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0C)
}

/// Plain digits at `b[i..]` ending at a space or the end: the id and its end.
fn id_at(b: &[u8], mut i: usize) -> Option<(VertexId, usize)> {
    let start = i;
    let mut v: VertexId = 0;
    while i < b.len() && !is_space(b[i]) {
        let d = b[i].wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(VertexId::from(d))?;
        i += 1;
    }
    (i > start).then_some((v, i))
}

/// [`edge_row`] in one pass over the bytes of a well-formed line (`Some(None)` for a blank
/// or comment line); `None` sends anything else to the general path, which gives the same
/// result or the error.
fn edge_row_fast(b: &[u8]) -> Option<Option<(VertexId, VertexId)>> {
    let skip = |mut i: usize| {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        i
    };
    let i = skip(0);
    if i == b.len() || b[i] == b'#' {
        return Some(None);
    }
    let (s, end) = id_at(b, i)?;
    let (d, _) = id_at(b, skip(end)).filter(|_| end < b.len())?;
    Some(Some((s, d)))
}

/// [`parse_edge_line`] without the line's origin: errors are messages.
fn edge_row(
    line: &str,
    canonical: bool,
) -> std::result::Result<Option<(VertexId, VertexId)>, String> {
    if let Some(pair) = edge_row_fast(line.as_bytes()) {
        return Ok(pair.map(|(s, d)| if canonical && s > d { (d, s) } else { (s, d) }));
    }
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let mut toks = t.split_whitespace();
    let (Some(a), Some(b)) = (toks.next(), toks.next()) else {
        return Err(format!("expected `src dst`, got {}", excerpt(t)));
    };
    let id = |tok: &str| {
        tok.parse::<VertexId>()
            .map_err(|e| format!("invalid vertex id {}: {e}", excerpt(tok)))
    };
    let (mut s, mut d) = (id(a)?, id(b)?);
    if canonical && s > d {
        std::mem::swap(&mut s, &mut d);
    }
    Ok(Some((s, d)))
}

/// Parses one line of an edge list, line `line_no` (1-based) of `path`, which errors name:
/// a `src dst` pair separated by whitespace (further columns are ignored). Blank lines and
/// lines starting with `#` give `None`. With `canonical`, the pair is oriented from the
/// smaller id to the larger (GraphX's `canonicalOrientation`).
///
/// [`edge_list_file`] parses its file with it; a job that reads an edge list with
/// `Context::text_file` can call it inside its tasks.
///
/// ```
/// use std::path::Path;
/// use firesteel_graphx::parse_edge_line;
///
/// let p = Path::new("edges.txt");
/// assert_eq!(parse_edge_line("7\t3 0.5", p, 1, false).unwrap(), Some((7, 3)));
/// assert_eq!(parse_edge_line("7 3", p, 2, true).unwrap(), Some((3, 7)));
/// assert_eq!(parse_edge_line("# comment", p, 3, false).unwrap(), None);
/// let e = parse_edge_line("7", p, 4, false).unwrap_err();
/// assert_eq!(e.to_string(), "edges.txt:4: expected `src dst`, got \"7\"");
/// ```
///
/// # Errors
/// [`GraphError::Parse`] naming `path:line_no` for a line without two non-negative integer
/// ids.
pub fn parse_edge_line(
    line: &str,
    path: &Path,
    line_no: u64,
    canonical: bool,
) -> Result<Option<(VertexId, VertexId)>> {
    edge_row(line, canonical).map_err(|message| GraphError::Parse {
        path: path.to_path_buf(),
        line: line_no,
        message,
    })
}

/// GraphX's `GraphLoader.edgeListFile`: a graph from a file of `src dst` lines. Lines
/// starting with `#` are comments; every edge has attribute 1, and the vertices are the
/// ids the edges name, each with attribute 1.
///
/// `path` is a file, directory, glob or comma-separated list, compressed or not, as
/// `Context::text_file` takes it; each partition (a byte range of a file) is parsed
/// inside its task, and errors still name `path:line`.
///
/// # Errors
/// [`GraphError::Io`] if the file cannot be read; [`GraphError::Parse`] naming
/// `path:line` for a line without two non-negative integer ids.
pub fn edge_list_file(
    ctx: &Context,
    path: impl AsRef<Path>,
    options: EdgeListOptions,
) -> Result<Graph<i32, i32>> {
    let edges = edge_list_dataset(ctx, path, &options)?;
    let g = Graph::from_edges(&edges, 1);
    let g = match options.strategy {
        Some(s) => g.partition_by(s, edges.num_partitions()),
        None => g,
    };
    // GraphX's edgeListFile counts the cached edges to load them; so does this, so that a
    // malformed line is reported here, naming its line.
    match g.num_edges() {
        Ok(_) => Ok(g),
        Err(GraphError::Engine(e)) => Err(input_error(e)),
        Err(e) => Err(e),
    }
}

/// The edges [`edge_list_file`] builds its graph from, as a dataset (attribute 1 each), in
/// `options.num_partitions` partitions: for programs that checkpoint or transform the
/// edges before building the graph with [`Graph::from_edges`].
///
/// # Errors
/// As [`edge_list_file`].
pub fn edge_list_dataset(
    ctx: &Context,
    path: impl AsRef<Path>,
    options: &EdgeListOptions,
) -> Result<Dataset<Edge<i32>>> {
    let n = if options.num_partitions == 0 {
        ctx.default_parallelism()
    } else {
        options.num_partitions
    };
    let canonical = options.canonical_orientation;
    ctx.parse_text_file(path, n, move |line, origin| {
        match edge_row(line, canonical) {
            Ok(pair) => Ok(pair.map(|(s, d)| Edge::new(s, d, 1))),
            Err(m) => Err(origin.error(m)),
        }
    })
    .map_err(input_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reports_path_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        let ctx = Context::local(2).unwrap();
        let opts = EdgeListOptions {
            canonical_orientation: true,
            num_partitions: 2,
            strategy: None,
        };
        std::fs::write(&p, "# c\n1 2\n\n 3\t4 extra\n5 1\n").unwrap();
        let ok = edge_list_dataset(&ctx, &p, &opts)
            .unwrap()
            .collect()
            .unwrap();
        let pairs: Vec<_> = ok.iter().map(|e| (e.src_id, e.dst_id)).collect();
        assert_eq!(pairs, vec![(1, 2), (3, 4), (1, 5)]);
        std::fs::write(&p, "1 2\n3\n").unwrap();
        let e = edge_list_file(&ctx, &p, opts).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!("{}:2: ", p.display())),
            "{e}"
        );
        std::fs::write(&p, "1 2\n# ok\n3 -4\n").unwrap();
        let e = edge_list_file(&ctx, &p, opts).unwrap_err();
        assert!(matches!(e, GraphError::Parse { line: 3, .. }), "{e}");
        assert!(e.to_string().contains("x.txt:3: invalid vertex id"));
    }

    #[test]
    fn fast_path_agrees_or_defers() {
        assert_eq!(edge_row_fast(b" 7\t3 0.5"), Some(Some((7, 3))));
        assert_eq!(edge_row_fast(b"  "), Some(None));
        assert_eq!(edge_row_fast(b"# x"), Some(None));
        for line in [
            "7",
            "7 ",
            "7 x",
            "+7 3",
            "7 -3",
            "99999999999999999999 1",
            "7\u{b}3",
            "\u{a0}7 3",
        ] {
            assert_eq!(edge_row_fast(line.as_bytes()), None, "{line:?}");
        }
        for line in ["1 2", " 5\t9 extra", "3 1", "\u{a0}7 3", "+7 3"] {
            let fast = edge_row(line, true).unwrap();
            let t = line.trim();
            let mut toks = t.split_whitespace().map(|x| x.parse::<VertexId>().unwrap());
            let (a, b) = (toks.next().unwrap(), toks.next().unwrap());
            assert_eq!(fast, Some((a.min(b), a.max(b))), "{line:?}");
        }
    }

    #[test]
    fn line_parser() {
        let p = Path::new("g.txt");
        assert_eq!(parse_edge_line(" 5 2 ", p, 1, false).unwrap(), Some((5, 2)));
        assert_eq!(parse_edge_line("5 2", p, 1, true).unwrap(), Some((2, 5)));
        assert_eq!(parse_edge_line("", p, 1, false).unwrap(), None);
        let e = parse_edge_line("1 x", p, 9, false).unwrap_err();
        assert!(matches!(e, GraphError::Parse { line: 9, .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("g.txt:9: invalid vertex id \"x\""),
            "{e}"
        );
        let e = parse_edge_line("12", p, 4, false).unwrap_err();
        assert_eq!(e.to_string(), "g.txt:4: expected `src dst`, got \"12\"");
    }
}

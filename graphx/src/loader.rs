//! Loading graphs: GraphX's `GraphLoader.edgeListFile`.

use std::path::Path;

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

fn parse_id(tok: &str, path: &Path, line: u64) -> Result<VertexId> {
    tok.parse::<VertexId>().map_err(|e| GraphError::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("invalid vertex id {tok:?}: {e}"),
    })
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
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let mut toks = t.split_whitespace();
    let (Some(a), Some(b)) = (toks.next(), toks.next()) else {
        return Err(GraphError::Parse {
            path: path.to_path_buf(),
            line: line_no,
            message: format!("expected `src dst`, got {t:?}"),
        });
    };
    let (mut s, mut d) = (parse_id(a, path, line_no)?, parse_id(b, path, line_no)?);
    if canonical && s > d {
        std::mem::swap(&mut s, &mut d);
    }
    Ok(Some((s, d)))
}

/// Parses an edge list, line by line with [`parse_edge_line`].
fn parse_edge_list(text: &str, path: &Path, canonical: bool) -> Result<Vec<(VertexId, VertexId)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        out.extend(parse_edge_line(line, path, i as u64 + 1, canonical)?);
    }
    Ok(out)
}

/// GraphX's `GraphLoader.edgeListFile`: a graph from a file of `src dst` lines. Lines
/// starting with `#` are comments; every edge has attribute 1, and the vertices are the
/// ids the edges name, each with attribute 1.
///
/// The file is read and parsed on the driver (so that errors can name the line), then
/// distributed over the edge partitions.
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
    Ok(match options.strategy {
        Some(s) => g.partition_by(s, edges.num_partitions()),
        None => g,
    })
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
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| GraphError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let pairs = parse_edge_list(&text, path, options.canonical_orientation)?;
    let n = if options.num_partitions == 0 {
        ctx.default_parallelism()
    } else {
        options.num_partitions
    };
    let edges: Vec<Edge<i32>> = pairs.into_iter().map(|(s, d)| Edge::new(s, d, 1)).collect();
    Ok(ctx.parallelize(edges, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reports_path_and_line() {
        let p = Path::new("x.txt");
        let ok = parse_edge_list("# c\n1 2\n\n 3\t4 extra\n5 1\n", p, true).unwrap();
        assert_eq!(ok, vec![(1, 2), (3, 4), (1, 5)]);
        let e = parse_edge_list("1 2\n3\n", p, false).unwrap_err();
        assert_eq!(e.to_string().split(": ").next(), Some("x.txt:2"));
        let e = parse_edge_list("1 2\n# ok\n3 -4\n", p, false).unwrap_err();
        assert!(matches!(e, GraphError::Parse { line: 3, .. }), "{e}");
        assert!(e.to_string().starts_with("x.txt:3: invalid vertex id"));
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

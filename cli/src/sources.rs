//! Where the jobs read their input and write their output: text as before, and by
//! extension or scheme Parquet (`.parquet`), CSV with a header (`.csv`), JSON lines
//! (`.jsonl`, `.json`, `.ndjson`) and PostgreSQL tables (`postgres://...?table=T`).
//!
//! Columns are found by name, as Spark resolves them: `src` and `dst` for the graph jobs;
//! `user`, `item` and `rating` for ALS; for logistic regression and k-means a `label`
//! column if there is one, and every other numeric column as a feature, in the table's
//! order. Output records go where `--output` says, under Spark's save modes (`--mode`).

use std::fs;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use firesteel::connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions};
use firesteel::connectors::postgres::client::types::Type;
use firesteel::connectors::postgres::{PgSink, PgSource, PgUrl, Value as PgValue};
use firesteel::connectors::SaveMode;
use firesteel::core::io::{
    open_decoded, resolve_inputs, CsvOptions, CsvWriteOptions, ParseMode, Temporary,
};
use firesteel::core::{Context, Dataset};
use firesteel::graphx::{Edge, VertexId};
use firesteel::mllib::{LabeledPoint, Rating};
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A source's or sink's format, from its extension or scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The job's own text format (an edge list, LIBSVM, dense vectors, ratings).
    Text,
    Parquet,
    Csv,
    Json,
    Postgres,
}

fn is_postgres(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// The format a name's extension says, under any compression extension.
fn kind_of_name(name: &str) -> Option<Kind> {
    let mut n = name.trim_end_matches('/').to_ascii_lowercase();
    for codec in [".gz", ".bz2", ".zst", ".zstd", ".deflate"] {
        if let Some(s) = n.strip_suffix(codec) {
            n = s.to_string();
            break;
        }
    }
    if n.ends_with(".parquet") {
        Some(Kind::Parquet)
    } else if n.ends_with(".csv") {
        Some(Kind::Csv)
    } else if n.ends_with(".jsonl") || n.ends_with(".json") || n.ends_with(".ndjson") {
        Some(Kind::Json)
    } else {
        None
    }
}

/// The format of `--input`: a `postgres://` URL; else the extension of the input's name
/// (a file, a directory such as `edges.parquet`, a glob, the first of a comma list);
/// else that of the first file it names (a directory of `part-*.parquet` files); else
/// the job's text format.
pub(crate) fn input_kind(input: &Path) -> Kind {
    let s = input.to_string_lossy();
    if is_postgres(&s) {
        return Kind::Postgres;
    }
    let first = s.split(',').next().unwrap_or_default();
    if let Some(k) = kind_of_name(first) {
        return k;
    }
    if let Ok(files) = resolve_inputs(input) {
        if let Some(k) = files
            .first()
            .and_then(|f| kind_of_name(&f.to_string_lossy()))
        {
            return k;
        }
    }
    Kind::Text
}

/// The format of `--output`, from its name: a `postgres://` URL, `.parquet`, `.csv`,
/// `.jsonl` (or `.ndjson`); anything else (`.json` too: a saved model) is the job's own
/// file.
pub(crate) fn output_kind(output: &Path) -> Kind {
    let s = output.to_string_lossy();
    if is_postgres(&s) {
        return Kind::Postgres;
    }
    let lower = s.trim_end_matches('/').to_ascii_lowercase();
    if lower.ends_with(".json") {
        return Kind::Text;
    }
    kind_of_name(&s).unwrap_or(Kind::Text)
}

/// An engine error as one line: its root cause.
pub(crate) fn engine_error(e: firesteel::core::Error) -> BoxError {
    e.root_cause().to_string().into()
}

fn missing(source: &str, column: &str, available: &[String]) -> BoxError {
    format!(
        "{source}: no column {column:?} (it has {})",
        available.join(", ")
    )
    .into()
}

/// The index of `column` in `names`: exactly, else ignoring case (as Spark resolves
/// columns).
fn find(names: &[String], column: &str) -> Option<usize> {
    names.iter().position(|n| n == column).or_else(|| {
        let mut same = names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.eq_ignore_ascii_case(column));
        match (same.next(), same.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    })
}

// ---------------------------------------------------------------------------------------
// CSV: the header and the first row, read on the driver.

/// Splits a CSV line (`,`, `"` quotes, `""` or `\"` inside them): enough for headers and
/// for telling numbers from text; the records themselves are read by core's reader.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '\\' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The first file of a CSV input, its header's columns and its first row's fields.
fn csv_head(input: &Path) -> Result<(PathBuf, Vec<String>, Option<Vec<String>>), BoxError> {
    let files = resolve_inputs(input).map_err(engine_error)?;
    let Some(file) = files.first() else {
        return Err(format!("{}: no input files", input.display()).into());
    };
    let reader = std::io::BufReader::new(open_decoded(file).map_err(engine_error)?);
    let mut lines = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(|e| format!("reading {}: {e}", file.display()))?;
        let line = line.trim_start_matches('\u{feff}').trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        lines.push(split_csv(line));
        if lines.len() == 2 {
            break;
        }
    }
    let mut lines = lines.into_iter();
    let Some(header) = lines.next() else {
        return Err(format!("{}: empty CSV file (no header)", file.display()).into());
    };
    let header = header.into_iter().map(|h| h.trim().to_string()).collect();
    Ok((file.clone(), header, lines.next()))
}

/// Whether a CSV input has a header: its first line is not all numbers.
fn csv_has_header(input: &Path) -> Result<bool, BoxError> {
    let (_, header, _) = csv_head(input)?;
    Ok(!header.iter().all(|f| f.trim().parse::<f64>().is_ok()))
}

/// Checks that a CSV input's header has `columns`.
fn csv_check(input: &Path, columns: &[&str]) -> Result<(), BoxError> {
    let (file, header, _) = csv_head(input)?;
    for c in columns {
        if find(&header, c).is_none() {
            return Err(missing(&file.display().to_string(), c, &header));
        }
    }
    Ok(())
}

fn csv_options() -> CsvOptions {
    CsvOptions::new().header(true).mode(ParseMode::FailFast)
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: the table's columns, asked on the driver.

fn pg_url(input: &Path) -> Result<PgUrl, BoxError> {
    let url = PgUrl::parse(&input.to_string_lossy())?;
    if url.table.is_none() && url.query.is_none() {
        return Err("postgres: the URL names no table (add ?table=NAME)".into());
    }
    Ok(url)
}

fn pg_what(url: &PgUrl) -> String {
    match (&url.table, &url.query) {
        (Some(t), _) => format!("postgres {}, table {t}", url.config.server()),
        (None, Some(q)) => format!("postgres {}, query {q}", url.config.server()),
        (None, None) => format!("postgres {}", url.config.server()),
    }
}

/// The columns (name, type) of the URL's table or query, in order.
fn pg_columns(url: &PgUrl) -> Result<Vec<(String, Type)>, BoxError> {
    let relation = match (&url.table, &url.query) {
        (Some(t), _) => t.clone(),
        (None, Some(q)) => format!("({q}) AS firesteel_query"),
        (None, None) => return Err("postgres: the URL names no table".into()),
    };
    let what = pg_what(url);
    let mut client = url
        .config
        .connect()
        .map_err(|e| e.context(&format!("reading {what}")))?;
    let stmt = client
        .prepare(&format!("SELECT * FROM {relation}"))
        .map_err(|e| {
            let msg = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string());
            format!("{what}: {msg}")
        })?;
    Ok(stmt
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect())
}

fn pg_names(cols: &[(String, Type)]) -> Vec<String> {
    cols.iter().map(|c| c.0.clone()).collect()
}

fn pg_is_numeric(t: &Type) -> bool {
    [
        Type::INT2,
        Type::INT4,
        Type::INT8,
        Type::FLOAT4,
        Type::FLOAT8,
    ]
    .contains(t)
}

/// The PostgreSQL columns `wanted`, by name, as they are called there.
fn pg_resolve(url: &PgUrl, wanted: &[&str]) -> Result<Vec<String>, BoxError> {
    let cols = pg_columns(url)?;
    let names = pg_names(&cols);
    wanted
        .iter()
        .map(|w| match find(&names, w) {
            Some(i) => Ok(names[i].clone()),
            None => Err(missing(&pg_what(url), w, &names)),
        })
        .collect()
}

fn pg_get(
    row: &firesteel::connectors::postgres::Row,
    col: &str,
) -> Result<PgValue, firesteel::connectors::postgres::BoxError> {
    row.try_get::<_, PgValue>(col)
        .map_err(|e| format!("column {col:?}: {e}").into())
}

fn pg_f64(v: &PgValue, col: &str) -> Result<f64, firesteel::connectors::postgres::BoxError> {
    match v {
        PgValue::Int(i) => Ok(*i as f64),
        PgValue::Float(x) => Ok(*x),
        other => Err(format!("column {col:?}: {other} is not a number").into()),
    }
}

fn pg_id(v: &PgValue, col: &str) -> Result<u64, firesteel::connectors::postgres::BoxError> {
    match v {
        PgValue::Int(i) if *i >= 0 => Ok(*i as u64),
        other => Err(format!("column {col:?}: {other} is not a vertex id").into()),
    }
}

// ---------------------------------------------------------------------------------------
// Graph edges.

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EdgeRecord {
    src: VertexId,
    dst: VertexId,
}

/// The edges of a non-text input (columns `src` and `dst`), attribute 1 each as the edge
/// list loader gives them; `None` for a text input.
pub(crate) fn read_edges(
    ctx: &Context,
    input: &Path,
    parts: usize,
) -> Result<Option<Dataset<Edge<i32>>>, BoxError> {
    let edge = |r: EdgeRecord| Edge::new(r.src, r.dst, 1);
    Ok(Some(match input_kind(input) {
        Kind::Text => return Ok(None),
        Kind::Parquet => {
            let source = ParquetSource::builder(input)
                .columns(["src", "dst"])
                .build::<EdgeRecord>()?;
            ctx.read_source(source).map(edge)
        }
        Kind::Csv => {
            csv_check(input, &["src", "dst"])?;
            ctx.read_csv::<EdgeRecord>(input, parts, &csv_options())
                .map_err(engine_error)?
                .map(edge)
        }
        Kind::Json => ctx
            .read_json::<EdgeRecord>(input, parts, ParseMode::FailFast)
            .map_err(engine_error)?
            .map(edge),
        Kind::Postgres => {
            let url = pg_url(input)?;
            let cols = pg_resolve(&url, &["src", "dst"])?;
            let (s, d) = (cols[0].clone(), cols[1].clone());
            let source = PgSource::from_parsed_url(url).build_with(move |row| {
                Ok(Edge::new(
                    pg_id(&pg_get(row, &s)?, &s)?,
                    pg_id(&pg_get(row, &d)?, &d)?,
                    1,
                ))
            })?;
            ctx.read_source(source)
        }
    }))
}

// ---------------------------------------------------------------------------------------
// Ratings.

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RatingRecord {
    user: u32,
    item: u32,
    rating: f32,
}

impl From<RatingRecord> for Rating {
    fn from(r: RatingRecord) -> Rating {
        Rating {
            user: r.user,
            item: r.item,
            rating: r.rating,
        }
    }
}

/// The ratings of a non-text input (columns `user`, `item`, `rating`); `None` for a text
/// input, and for a CSV file without a header (the ratings loader reads it, as before).
pub(crate) fn read_ratings(
    ctx: &Context,
    input: &Path,
    parts: usize,
) -> Result<Option<Dataset<Rating>>, BoxError> {
    const COLUMNS: [&str; 3] = ["user", "item", "rating"];
    Ok(Some(match input_kind(input) {
        Kind::Text => return Ok(None),
        Kind::Csv if !csv_has_header(input)? => return Ok(None),
        Kind::Parquet => {
            let source = ParquetSource::builder(input)
                .columns(COLUMNS)
                .build::<RatingRecord>()?;
            ctx.read_source(source).map(Rating::from)
        }
        Kind::Csv => {
            csv_check(input, &COLUMNS)?;
            ctx.read_csv::<RatingRecord>(input, parts, &csv_options())
                .map_err(engine_error)?
                .map(Rating::from)
        }
        Kind::Json => ctx
            .read_json::<RatingRecord>(input, parts, ParseMode::FailFast)
            .map_err(engine_error)?
            .map(Rating::from),
        Kind::Postgres => {
            let url = pg_url(input)?;
            let cols = pg_resolve(&url, &COLUMNS)?;
            let source = PgSource::from_parsed_url(url).build_with(move |row| {
                let id = |c: &str| -> Result<u32, firesteel::connectors::postgres::BoxError> {
                    match pg_get(row, c)? {
                        PgValue::Int(i) => {
                            u32::try_from(i).map_err(|_| format!("column {c:?}: bad id {i}").into())
                        }
                        other => Err(format!("column {c:?}: {other} is not an id").into()),
                    }
                };
                Ok(Rating {
                    user: id(&cols[0])?,
                    item: id(&cols[1])?,
                    rating: pg_f64(&pg_get(row, &cols[2])?, &cols[2])? as f32,
                })
            })?;
            ctx.read_source(source)
        }
    }))
}

// ---------------------------------------------------------------------------------------
// Numeric rows: a label if there is one, and the other numeric columns as features.

/// What each column of a CSV row is.
#[derive(Debug, Clone, Copy)]
enum Role {
    Label,
    Feature(usize),
    Skip,
}

/// The roles of a CSV input's columns. Core's CSV reader deserializes records with
/// serde, without a way to hand a record type the columns chosen at run time, so the one
/// CSV numeric input of a process sets them here before it is read.
static CSV_ROLES: OnceLock<Vec<Role>> = OnceLock::new();

/// A CSV row of the numeric input, as [`CSV_ROLES`] say; only ever deserialized by the
/// CSV reader (and mapped to a [`LabeledPoint`] at once).
#[derive(Debug, Clone, Serialize)]
struct CsvPoint(LabeledPoint);

impl<'de> Deserialize<'de> for CsvPoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Row(&'static [Role]);
        impl<'de> Visitor<'de> for Row {
            type Value = CsvPoint;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a CSV row")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CsvPoint, A::Error> {
                let n = self
                    .0
                    .iter()
                    .filter(|r| matches!(r, Role::Feature(_)))
                    .count();
                let mut p = LabeledPoint {
                    label: 0.0,
                    features: vec![0.0; n],
                };
                let mut i = 0;
                loop {
                    let more = match self.0.get(i).copied().unwrap_or(Role::Skip) {
                        Role::Label => seq.next_element::<f64>()?.map(|v| p.label = v),
                        Role::Feature(k) => seq.next_element::<f64>()?.map(|v| p.features[k] = v),
                        Role::Skip => seq.next_element::<IgnoredAny>()?.map(|_| ()),
                    };
                    if more.is_none() {
                        break;
                    }
                    i += 1;
                }
                Ok(CsvPoint(p))
            }
        }
        let roles = CSV_ROLES
            .get()
            .ok_or_else(|| de::Error::custom("the CSV columns are not known"))?;
        d.deserialize_seq(Row(roles))
    }
}

/// Numeric rows of a non-text input, with whether they have a label and the feature
/// columns' names.
pub(crate) struct Points {
    pub(crate) points: Dataset<LabeledPoint>,
    pub(crate) labeled: bool,
    pub(crate) features: Vec<String>,
}

/// The feature columns, in order: every numeric column but the label.
fn choose(
    source: &str,
    names: &[String],
    numeric: &[bool],
) -> Result<(Option<usize>, Vec<usize>), BoxError> {
    let label = find(names, "label");
    if let Some(l) = label {
        if !numeric[l] {
            return Err(format!("{source}: the label column {:?} is not numeric", names[l]).into());
        }
    }
    let features: Vec<usize> = (0..names.len())
        .filter(|&i| Some(i) != label && numeric[i])
        .collect();
    if features.is_empty() {
        return Err(format!(
            "{source}: no numeric feature column (it has {})",
            names.join(", ")
        )
        .into());
    }
    Ok((label, features))
}

/// The first JSON object's keys and values, in the line's order.
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry::<String, serde_json::Value>()? {
                    out.push(kv);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The first JSON line of a JSON input, with its file and line number.
fn json_head(input: &Path) -> Result<Ordered, BoxError> {
    let files = resolve_inputs(input).map_err(engine_error)?;
    let Some(file) = files.first() else {
        return Err(format!("{}: no input files", input.display()).into());
    };
    let reader = std::io::BufReader::new(open_decoded(file).map_err(engine_error)?);
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("reading {}: {e}", file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        return serde_json::from_str::<Ordered>(&line).map_err(|e| {
            format!("{}:{}: malformed JSON record ({e})", file.display(), n + 1).into()
        });
    }
    Err(format!("{}: no records", file.display()).into())
}

/// Numeric rows of a non-text input; `None` for a text input.
pub(crate) fn read_points(
    ctx: &Context,
    input: &Path,
    parts: usize,
) -> Result<Option<Points>, BoxError> {
    Ok(Some(match input_kind(input) {
        Kind::Text => return Ok(None),
        Kind::Parquet => {
            let all = ParquetSource::builder(input).build_batches()?;
            let labeled = all.schema().fields().iter().any(|f| f.name() == "label");
            if labeled {
                let source = ParquetSource::builder(input).build_labeled("label")?;
                let features = source.feature_names().to_vec();
                let points = ctx
                    .read_source(source)
                    .map(|(label, features)| LabeledPoint { label, features });
                Points {
                    points,
                    labeled,
                    features,
                }
            } else {
                let source = ParquetSource::builder(input).build_features()?;
                let features = source.feature_names().to_vec();
                let points = ctx.read_source(source).map(|features| LabeledPoint {
                    label: 0.0,
                    features,
                });
                Points {
                    points,
                    labeled,
                    features,
                }
            }
        }
        Kind::Csv => {
            let (file, header, first) = csv_head(input)?;
            let Some(first) = first else {
                // Say so when the one line there is was taken for the column names.
                return Err(format!(
                    "{}: no records below the header line {:?} (a .csv input starts with \
                     the column names)",
                    file.display(),
                    header.join(",")
                )
                .into());
            };
            let numeric: Vec<bool> = (0..header.len())
                .map(|i| {
                    first
                        .get(i)
                        .is_some_and(|v| v.trim().parse::<f64>().is_ok())
                })
                .collect();
            let (label, features) = choose(&file.display().to_string(), &header, &numeric)?;
            let mut roles = vec![Role::Skip; header.len()];
            if let Some(l) = label {
                roles[l] = Role::Label;
            }
            for (k, &i) in features.iter().enumerate() {
                roles[i] = Role::Feature(k);
            }
            if CSV_ROLES.set(roles).is_err() {
                return Err("one CSV numeric input per process".into());
            }
            let points = ctx
                .read_csv::<CsvPoint>(input, parts, &csv_options())
                .map_err(engine_error)?
                .map(|p| p.0);
            Points {
                points,
                labeled: label.is_some(),
                features: features.iter().map(|&i| header[i].clone()).collect(),
            }
        }
        Kind::Json => {
            let first = json_head(input)?;
            let names: Vec<String> = first.0.iter().map(|(k, _)| k.clone()).collect();
            let numeric: Vec<bool> = first.0.iter().map(|(_, v)| v.is_number()).collect();
            let (label, features) = choose(&input.display().to_string(), &names, &numeric)?;
            let label_name = label.map(|l| names[l].clone());
            let feature_names: Vec<String> = features.iter().map(|&i| names[i].clone()).collect();
            let wanted = feature_names.clone();
            let points = ctx
                .parse_text_file(input, parts, move |line, origin| {
                    if line.trim().is_empty() {
                        return Ok(None);
                    }
                    let obj: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(line)
                            .map_err(|e| origin.error(format!("malformed JSON record ({e})")))?;
                    let num = |c: &str| match obj.get(c) {
                        Some(v) => v.as_f64().ok_or_else(|| {
                            origin.error(format!("column {c:?} = {v} is not a number"))
                        }),
                        None => Err(origin.error(format!("no column {c:?}"))),
                    };
                    let label = match &label_name {
                        Some(l) => num(l)?,
                        None => 0.0,
                    };
                    let features = wanted.iter().map(|c| num(c)).collect::<Result<_, _>>()?;
                    Ok(Some(LabeledPoint { label, features }))
                })
                .map_err(engine_error)?;
            Points {
                points,
                labeled: label.is_some(),
                features: feature_names,
            }
        }
        Kind::Postgres => {
            let url = pg_url(input)?;
            let cols = pg_columns(&url)?;
            let names = pg_names(&cols);
            let numeric: Vec<bool> = cols.iter().map(|c| pg_is_numeric(&c.1)).collect();
            let (label, features) = choose(&pg_what(&url), &names, &numeric)?;
            let label_name = label.map(|l| names[l].clone());
            let feature_names: Vec<String> = features.iter().map(|&i| names[i].clone()).collect();
            let wanted = feature_names.clone();
            let source = PgSource::from_parsed_url(url).build_with(move |row| {
                let label = match &label_name {
                    Some(l) => pg_f64(&pg_get(row, l)?, l)?,
                    None => 0.0,
                };
                let features = wanted
                    .iter()
                    .map(|c| pg_f64(&pg_get(row, c)?, c))
                    .collect::<Result<_, _>>()?;
                Ok(LabeledPoint { label, features })
            })?;
            Points {
                points: ctx.read_source(source),
                labeled: label.is_some(),
                features: feature_names,
            }
        }
    }))
}

// ---------------------------------------------------------------------------------------
// Output.

/// A unique suffix for temporary and appended files.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// A temporary sibling of `path`.
fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.firesteel-tmp-{}", unique()))
}

fn remove_path(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// An existing output that is neither a regular file nor a directory (a device, a FIFO, a
/// socket, a symbolic link) is never written over, whatever the mode.
fn refuse_special(path: &Path) -> Result<(), BoxError> {
    let kind = path
        .symlink_metadata()
        .map_err(|e| format!("output {}: {e}", path.display()))?
        .file_type();
    if kind.is_file() || kind.is_dir() {
        return Ok(());
    }
    Err(format!(
        "output {} exists and is not a regular file or a directory: it is never written over",
        path.display()
    )
    .into())
}

fn refuse(path: &Path) -> BoxError {
    format!(
        "output {} already exists (--mode error; --mode overwrite replaces it)",
        path.display()
    )
    .into()
}

fn ignored(path: &Path) {
    eprintln!(
        "output {} already exists: nothing written (--mode ignore)",
        path.display()
    );
}

/// Writes a file or directory output `path` through `write` (which writes a new path it
/// is given) under `mode`; `append` adds `new` (a complete output written aside) to the
/// existing `path`.
fn write_with_mode(
    path: &Path,
    mode: SaveMode,
    write: impl FnOnce(&Path) -> Result<(), BoxError>,
    append: impl FnOnce(&Path, &Path) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    if !exists(path) {
        // Written aside and renamed: a failed job leaves no partial output.
        let tmp = temp_sibling(path);
        let _interrupted = Temporary::register(&tmp);
        return match write(&tmp) {
            Ok(()) => fs::rename(&tmp, path).map_err(|e| {
                format!("renaming {} to {}: {e}", tmp.display(), path.display()).into()
            }),
            Err(e) => {
                let _ = remove_path(&tmp);
                Err(e)
            }
        };
    }
    refuse_special(path)?;
    match mode {
        SaveMode::ErrorIfExists => Err(refuse(path)),
        SaveMode::Ignore => {
            ignored(path);
            Ok(())
        }
        SaveMode::Overwrite | SaveMode::Append => {
            let tmp = temp_sibling(path);
            let _interrupted = Temporary::register(&tmp);
            if let Err(e) = write(&tmp) {
                let _ = remove_path(&tmp);
                return Err(e);
            }
            let done = if mode == SaveMode::Overwrite {
                remove_path(path)
                    .map_err(|e| format!("replacing {}: {e}", path.display()).into())
                    .and_then(|()| {
                        fs::rename(&tmp, path).map_err(|e| -> BoxError {
                            format!("renaming {} to {}: {e}", tmp.display(), path.display()).into()
                        })
                    })
            } else {
                append(&tmp, path)
            };
            let _ = remove_path(&tmp);
            done
        }
    }
}

/// Appends the part files of the directory `new` to the directory `path`, each renamed
/// `part-NNNNN-<unique>.ext` as Spark names appended parts.
fn append_parts(new: &Path, path: &Path) -> Result<(), BoxError> {
    if !path.is_dir() {
        return Err(format!(
            "cannot append to {}: it is not a directory of part files",
            path.display()
        )
        .into());
    }
    let id = unique();
    let entries = fs::read_dir(new).map_err(|e| format!("reading {}: {e}", new.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", new.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let renamed = match name.split_once('.') {
            Some((stem, ext)) => format!("{stem}-{id}.{ext}"),
            None => format!("{name}-{id}"),
        };
        let to = path.join(renamed);
        fs::rename(entry.path(), &to)
            .map_err(|e| format!("moving {} to {}: {e}", entry.path().display(), to.display()))?;
    }
    Ok(())
}

/// Writes a directory of part files at `path` through `write` under `mode`.
pub(crate) fn write_dir(
    path: &Path,
    mode: SaveMode,
    write: impl FnOnce(&Path) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    write_with_mode(path, mode, write, append_parts)
}

/// Writes `lines` as a text file at `path` under `mode` (`append` adds them at its end).
pub(crate) fn write_lines(
    path: &Path,
    mode: SaveMode,
    lines: impl Iterator<Item = String>,
) -> Result<(), BoxError> {
    let write_to =
        |file: fs::File, lines: &mut dyn Iterator<Item = String>| -> Result<(), BoxError> {
            let mut w = std::io::BufWriter::new(file);
            for l in lines {
                writeln!(w, "{l}").map_err(|e| format!("writing {}: {e}", path.display()))?;
            }
            w.flush()
                .map_err(|e| format!("writing {}: {e}", path.display()).into())
        };
    if exists(path) && mode == SaveMode::Append {
        refuse_special(path)?;
        if path.is_dir() {
            return Err(format!(
                "cannot append lines to {}: it is a directory",
                path.display()
            )
            .into());
        }
        let file = fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| format!("opening {}: {e}", path.display()))?;
        let mut lines = lines;
        return write_to(file, &mut lines);
    }
    let mut lines = lines;
    write_with_mode(
        path,
        mode,
        |tmp| {
            let file =
                fs::File::create(tmp).map_err(|e| format!("creating {}: {e}", path.display()))?;
            write_to(file, &mut lines)
        },
        |_, _| unreachable!("appending is handled above"),
    )
}

/// Writes a file (such as a saved model) under `mode` through `save`, which writes a new
/// path; a model cannot be appended to.
pub(crate) fn write_file(
    path: &Path,
    mode: SaveMode,
    save: impl FnOnce(&Path) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    write_with_mode(path, mode, save, |_, path| {
        Err(format!(
            "cannot append to {} (--mode append): it is one file",
            path.display()
        )
        .into())
    })
}

/// A vertex's value in output records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VertexValue<V> {
    vertex: i64,
    value: V,
}

/// The values the graph jobs write per vertex.
pub(crate) trait OutputValue: firesteel::core::Data + std::fmt::Display {
    /// Its PostgreSQL column type.
    const SQL: &'static str;
    fn pg(&self) -> PgValue;
}

impl OutputValue for f64 {
    const SQL: &'static str = "double precision";
    fn pg(&self) -> PgValue {
        PgValue::Float(*self)
    }
}

impl OutputValue for u64 {
    const SQL: &'static str = "bigint";
    fn pg(&self) -> PgValue {
        PgValue::Int(*self as i64)
    }
}

fn vertex_id(v: VertexId) -> Result<i64, BoxError> {
    i64::try_from(v)
        .map_err(|_| format!("vertex id {v} does not fit a signed 64-bit column").into())
}

/// Writes `(vertex, value)` records to `path`: Parquet, CSV with a header or JSON lines
/// (a directory of part files, as Spark writes them), a PostgreSQL table, or else TSV
/// lines `vertex<TAB>value`, under `mode`. Called on one process only (rank 0): the
/// records are written through a local context of their own.
pub(crate) fn write_vertex_values<V: OutputValue>(
    path: &Path,
    mode: SaveMode,
    rows: &[(VertexId, V)],
) -> Result<(), BoxError> {
    let kind = output_kind(path);
    if kind == Kind::Text {
        return write_lines(path, mode, rows.iter().map(|(id, v)| format!("{id}\t{v}")));
    }
    let records = rows
        .iter()
        .map(|(id, v)| {
            Ok(VertexValue {
                vertex: vertex_id(*id)?,
                value: v.clone(),
            })
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    let local = Context::local(1).map_err(engine_error)?;
    let ds = local.parallelize(records, 1);
    match kind {
        Kind::Text => unreachable!(),
        Kind::Parquet => {
            // The sink applies the save mode itself (Spark's append names included).
            if exists(path) && mode == SaveMode::ErrorIfExists {
                return Err(refuse(path));
            }
            if exists(path) && mode == SaveMode::Ignore {
                ignored(path);
                return Ok(());
            }
            write_parquet(&ds, path, &ParquetWriteOptions::new().mode(mode)).map_err(engine_error)
        }
        Kind::Csv => write_with_mode(
            path,
            mode,
            |p| {
                ds.save_as_csv(p, &CsvWriteOptions::new().header(true))
                    .map_err(engine_error)
            },
            append_parts,
        ),
        Kind::Json => write_with_mode(
            path,
            mode,
            |p| ds.save_as_json(p, None).map_err(engine_error),
            append_parts,
        ),
        Kind::Postgres => {
            let url = PgUrl::parse(&path.to_string_lossy())?;
            let Some(table) = url.table.clone() else {
                return Err("postgres: the output URL names no table (add ?table=NAME)".into());
            };
            let sink = PgSink::builder(url.config, table)
                .columns([("vertex", "bigint"), ("value", V::SQL)])
                .mode(mode)
                .build()?;
            ds.map(|r| vec![PgValue::Int(r.vertex), r.value.pg()])
                .write_to(sink)
                .map_err(engine_error)
        }
    }
}

/// A float as CSV text that reads back exactly (`2.0`, `0.1`).
fn float_text(x: f64) -> String {
    format!("{x:?}")
}

/// Writes k-means' centers to `path`: records `cluster` and one column per feature (named
/// as the input's features, else `f1`, `f2`, ...) as Parquet, CSV with a header or JSON
/// lines (a directory of one part file) or a PostgreSQL table; else TSV lines, one center
/// each, as before. Under `mode`; called on rank 0 only.
pub(crate) fn write_centers(
    path: &Path,
    mode: SaveMode,
    names: &[String],
    centers: &[Vec<f64>],
) -> Result<(), BoxError> {
    let kind = output_kind(path);
    let d = centers.first().map_or(0, Vec::len);
    let mut columns = vec!["cluster".to_string()];
    if names.len() == d {
        columns.extend(names.iter().cloned());
    } else {
        columns.extend((1..=d).map(|j| format!("f{j}")));
    }
    let part = |dir: &Path, ext: &str, body: &[u8]| -> Result<(), BoxError> {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let file = dir.join(format!("part-00000.{ext}"));
        fs::write(&file, body).map_err(|e| format!("writing {}: {e}", file.display()))?;
        fs::write(dir.join("_SUCCESS"), b"")
            .map_err(|e| format!("writing {}: {e}", dir.display()))?;
        Ok(())
    };
    match kind {
        Kind::Text => write_lines(
            path,
            mode,
            centers.iter().map(|c| {
                c.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("\t")
            }),
        ),
        Kind::Csv => {
            let mut text = columns
                .iter()
                .map(|c| {
                    if c.contains([',', '"', '\n']) {
                        format!("\"{}\"", c.replace('"', "\"\""))
                    } else {
                        c.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            text.push('\n');
            for (i, c) in centers.iter().enumerate() {
                text.push_str(&i.to_string());
                for x in c {
                    text.push(',');
                    text.push_str(&float_text(*x));
                }
                text.push('\n');
            }
            write_dir(path, mode, |dir| part(dir, "csv", text.as_bytes()))
        }
        Kind::Json => {
            let mut text = String::new();
            for (i, c) in centers.iter().enumerate() {
                let mut fields = vec![format!("\"cluster\":{i}")];
                for (name, x) in columns[1..].iter().zip(c) {
                    let v = serde_json::Number::from_f64(*x)
                        .map_or_else(|| "null".to_string(), |n| n.to_string());
                    fields.push(format!("{}:{v}", serde_json::Value::from(name.as_str())));
                }
                text.push_str(&format!("{{{}}}\n", fields.join(",")));
            }
            write_dir(path, mode, |dir| part(dir, "json", text.as_bytes()))
        }
        Kind::Parquet => {
            use firesteel::connectors::parquet::arrow::array::{
                ArrayRef, Float64Array, Int64Array, RecordBatch,
            };
            use firesteel::connectors::parquet::arrow::schema::{DataType, Field, Schema};
            use firesteel::connectors::parquet::format::arrow::ArrowWriter;
            let mut fields = vec![Field::new("cluster", DataType::Int64, false)];
            let mut arrays: Vec<ArrayRef> = vec![std::sync::Arc::new(
                Int64Array::from_iter_values(0..centers.len() as i64),
            )];
            for (j, name) in columns[1..].iter().enumerate() {
                fields.push(Field::new(name, DataType::Float64, false));
                arrays.push(std::sync::Arc::new(Float64Array::from_iter_values(
                    centers.iter().map(|c| c[j]),
                )));
            }
            let schema = std::sync::Arc::new(Schema::new(fields));
            let batch = RecordBatch::try_new(schema.clone(), arrays)
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            write_dir(path, mode, |dir| {
                fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
                let file_path = dir.join("part-00000.parquet");
                let err =
                    |e: &dyn std::fmt::Display| format!("writing {}: {e}", file_path.display());
                let file = fs::File::create(&file_path).map_err(|e| err(&e))?;
                let mut w = ArrowWriter::try_new(file, schema, None).map_err(|e| err(&e))?;
                w.write(&batch).map_err(|e| err(&e))?;
                w.close().map_err(|e| err(&e))?;
                fs::write(dir.join("_SUCCESS"), b"").map_err(|e| err(&e))?;
                Ok(())
            })
        }
        Kind::Postgres => {
            let url = PgUrl::parse(&path.to_string_lossy())?;
            let Some(table) = url.table.clone() else {
                return Err("postgres: the output URL names no table (add ?table=NAME)".into());
            };
            let types: Vec<(String, String)> = columns
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    let t = if j == 0 { "bigint" } else { "double precision" };
                    (c.clone(), t.to_string())
                })
                .collect();
            let sink = PgSink::builder(url.config, table)
                .columns(types)
                .mode(mode)
                .build()?;
            let rows: Vec<Vec<PgValue>> = centers
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    std::iter::once(PgValue::Int(i as i64))
                        .chain(c.iter().map(|x| PgValue::Float(*x)))
                        .collect()
                })
                .collect();
            let local = Context::local(1).map_err(engine_error)?;
            local
                .parallelize(rows, 1)
                .write_to(sink)
                .map_err(engine_error)
        }
    }
}

/// Refuses a record format for a job that writes no records (k-means' centers, a model).
pub(crate) fn text_output_only(job: &str, what: &str, path: &Path) -> Result<(), BoxError> {
    match output_kind(path) {
        Kind::Text => Ok(()),
        _ => Err(format!(
            "{job} writes {what}, not records: --output {} must be a plain file path",
            path.display()
        )
        .into()),
    }
}

/// Checks, before a job runs, that its output may be written: an existing path (a
/// table is checked by its sink) with `--mode error` is refused at once.
pub(crate) fn check_output(path: &Path, mode: SaveMode) -> Result<(), BoxError> {
    if output_kind(path) != Kind::Postgres && exists(path) && mode == SaveMode::ErrorIfExists {
        return Err(refuse(path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_extension_and_scheme() {
        assert_eq!(kind_of_name("a/b.parquet"), Some(Kind::Parquet));
        assert_eq!(kind_of_name("a/b.parquet/"), Some(Kind::Parquet));
        assert_eq!(kind_of_name("b.CSV.gz"), Some(Kind::Csv));
        assert_eq!(kind_of_name("b.jsonl.zst"), Some(Kind::Json));
        assert_eq!(kind_of_name("b.txt"), None);
        assert_eq!(
            input_kind(Path::new("postgres://u@h:1/db?table=t")),
            Kind::Postgres
        );
        assert_eq!(output_kind(Path::new("ranks.tsv")), Kind::Text);
        assert_eq!(output_kind(Path::new("model.json")), Kind::Text);
        assert_eq!(output_kind(Path::new("ranks.jsonl")), Kind::Json);
    }

    #[test]
    fn csv_lines_split() {
        assert_eq!(split_csv("a,\"b,c\",d"), ["a", "b,c", "d"]);
        assert_eq!(split_csv("\"x\"\"y\","), ["x\"y", ""]);
    }
}

//! JSON lines, as Spark's `spark.read.json` reads them by default and `df.write.json`
//! writes them: one JSON value per line, into and from typed serde records (the `json`
//! feature).
//!
//! Lines are parsed with `serde_json` inside the tasks of [`Context::parse_text_file`],
//! so files are read in parallel over byte splits, compressed ones decompressed, and
//! every error names `path:line`.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::parse_mode::{CorruptRecord, ParseMode, Parsed};
use super::{excerpt, Codec};
use crate::error::{Error, Result};
use crate::{Context, Data, Dataset};

/// Why a line is not a `T`: `serde_json`'s message, with the column instead of "line 1".
fn describe(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rsplit_once(" at line ") {
        Some((what, _)) if e.line() == 1 => format!("{what} at column {}", e.column()),
        _ => msg,
    }
}

/// The record a malformed line gives in permissive mode, if `T` can hold it: the line's
/// object with one bad field set to null, or else every field null (the record of `{}`).
fn lenient<T: DeserializeOwned>(line: &str) -> Option<T> {
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(line) {
        for key in map.keys() {
            let mut m = map.clone();
            m.insert(key.clone(), Value::Null);
            if let Ok(t) = serde_json::from_value(Value::Object(m)) {
                return Some(t);
            }
        }
    }
    serde_json::from_str("{}").ok()
}

fn malformed(line: &str, detail: &str) -> String {
    format!("malformed JSON record ({detail}): {}", excerpt(line))
}

impl Context {
    /// Reads JSON lines as typed records, as Spark's `spark.read.json(path)` (whose
    /// default is JSON Lines): each non-blank line is one JSON value deserialized with
    /// serde into `T`, most often a struct from an object (a missing `Option` field is
    /// `None`, as Spark's null; fields the struct lacks are ignored).
    ///
    /// `path` is read as [`parse_text_file`](Self::parse_text_file) reads it (files,
    /// directories, globs, comma lists, `.gz`/`.bz2`/`.zst`), in at least `min_partitions`
    /// splits parsed in parallel.
    ///
    /// A line that is not valid JSON, or whose value is not a `T`, is malformed; `mode`
    /// says what then: fail the job naming `path:line` ([`FailFast`](ParseMode::FailFast)),
    /// skip the line ([`DropMalformed`](ParseMode::DropMalformed)), or
    /// ([`Permissive`](ParseMode::Permissive)) set the bad field to `None` if the line is an
    /// object with one bad field, and otherwise every field (the record `{}` gives), as
    /// Spark sets them to null (Spark 3 keeps every field that parses; here a line with two
    /// bad fields keeps none, as Spark 2 did). A line whose record cannot hold that (a
    /// field that is not an `Option`) fails the job;
    /// [`read_json_with_corrupt`](Self::read_json_with_corrupt) keeps such lines.
    ///
    /// Spark's example `people.json`, whose first person has no age:
    ///
    /// ```
    /// use firesteel_core::io::ParseMode;
    ///
    /// #[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
    /// struct Person {
    ///     name: String,
    ///     age: Option<u32>,
    /// }
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("people.json");
    /// std::fs::write(
    ///     &path,
    ///     "{\"name\":\"Michael\"}\n{\"name\":\"Andy\", \"age\":30}\n{\"name\":\"Justin\", \"age\":19}\n",
    /// )
    /// .unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let people = ctx.read_json::<Person>(&path, 2, ParseMode::FailFast).unwrap();
    /// let teenagers = people.filter(|p| p.age.is_some_and(|a| (13..=19).contains(&a)));
    /// let names: Vec<String> = teenagers.map(|p| p.name).collect().unwrap();
    /// assert_eq!(names, ["Justin"]);
    /// ```
    ///
    /// Parse modes:
    ///
    /// ```
    /// use firesteel_core::io::ParseMode;
    /// use firesteel_core::Error;
    ///
    /// #[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
    /// struct Reading {
    ///     id: Option<u32>,
    ///     value: Option<f64>,
    /// }
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("readings.json");
    /// std::fs::write(&path, "{\"id\":1,\"value\":0.5}\n\n{\"id\":2,\"value\":\"high\"}\n{\"id\":3,\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let read = |mode| ctx.read_json::<Reading>(&path, 1, mode).unwrap().collect();
    ///
    /// let r = |id, value| Reading { id, value };
    /// let lenient = read(ParseMode::Permissive).unwrap();
    /// assert_eq!(lenient, [r(Some(1), Some(0.5)), r(Some(2), None), r(None, None)]);
    /// assert_eq!(read(ParseMode::DropMalformed).unwrap(), [r(Some(1), Some(0.5))]);
    /// let e = read(ParseMode::FailFast).unwrap_err();
    /// assert!(matches!(e.root_cause(), Error::Parse { line: 3, .. }));
    /// ```
    ///
    /// # Errors
    /// A path as in [`text_file`](Self::text_file); while the job runs, [`Error::Parse`]
    /// for a malformed line as the mode says, or invalid UTF-8.
    pub fn read_json<T: Data>(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
        mode: ParseMode,
    ) -> Result<Dataset<T>> {
        crate::io::parse_text_file(
            self,
            path.as_ref(),
            min_partitions,
            "read_json",
            move |line, origin| {
                if line.trim().is_empty() {
                    return Ok(None);
                }
                let e = match serde_json::from_str::<T>(line) {
                    Ok(t) => return Ok(Some(t)),
                    Err(e) => e,
                };
                match mode {
                    ParseMode::DropMalformed => Ok(None),
                    ParseMode::FailFast => Err(origin.error(malformed(line, &describe(&e)))),
                    ParseMode::Permissive => match lenient::<T>(line) {
                        Some(t) => Ok(Some(t)),
                        None => Err(origin.error(format!(
                            "{}, which {} cannot hold with None in its bad fields \
                             (read_json_with_corrupt keeps such lines)",
                            malformed(line, &describe(&e)),
                            std::any::type_name::<T>()
                        ))),
                    },
                }
            },
        )
    }

    /// Reads JSON lines as [`read_json`](Self::read_json) does, keeping each malformed
    /// line aside as [`Parsed::Corrupt`] (with its path, line number, text and error):
    /// Spark's `PERMISSIVE` mode with a `_corrupt_record` column, except that a corrupt
    /// line gives no partial record.
    ///
    /// ```
    /// use firesteel_core::io::Parsed;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("ids.json");
    /// std::fs::write(&path, "{\"id\":1}\n{\"id\":\"two\"}\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let rows = ctx.read_json_with_corrupt::<std::collections::BTreeMap<String, u32>>(&path, 1);
    /// let rows = rows.unwrap().collect().unwrap();
    /// assert_eq!(rows[0].clone().ok().unwrap()["id"], 1);
    /// let bad = rows[1].corrupt().unwrap();
    /// assert_eq!((bad.line, bad.text.as_str()), (2, "{\"id\":\"two\"}"));
    /// assert_eq!(bad.error, "invalid type: string \"two\", expected u32 at column 11");
    /// ```
    ///
    /// # Errors
    /// As [`read_json`](Self::read_json), except for malformed lines.
    pub fn read_json_with_corrupt<T: Data>(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
    ) -> Result<Dataset<Parsed<T>>> {
        crate::io::parse_text_file(
            self,
            path.as_ref(),
            min_partitions,
            "read_json_with_corrupt",
            |line, origin| {
                if line.trim().is_empty() {
                    return Ok(None);
                }
                Ok(Some(match serde_json::from_str::<T>(line) {
                    Ok(t) => Parsed::Record(t),
                    Err(e) => Parsed::Corrupt(CorruptRecord::new(origin, line, describe(&e))),
                }))
            },
        )
    }
}

impl<T: Data> Dataset<T> {
    /// Writes the dataset as JSON lines, one record per line as `serde_json` writes it, as
    /// Spark's `df.write.json(path)`: `part-NNNNN.json` files (`.json.gz` and so on with a
    /// `codec`) in the directory `path`, committed as
    /// [`save_as_text_file`](Self::save_as_text_file) commits them.
    /// [`Context::read_json`] reads the directory back. Unlike Spark, which leaves null
    /// fields out (`ignoreNullFields`), a `None` field is written as `null` unless the
    /// record's serde attributes skip it; a float NaN or infinity is written as `null`, as
    /// JSON has no such numbers.
    ///
    /// ```
    /// use firesteel_core::io::{Codec, ParseMode};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("pairs");
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let pairs = vec![("a,\"b\"\n".to_string(), 1u8), ("c".to_string(), 2)];
    /// ctx.parallelize(pairs.clone(), 2).save_as_json(&out, None).unwrap();
    /// let part = std::fs::read_to_string(out.join("part-00000.json")).unwrap();
    /// assert_eq!(part, "[\"a,\\\"b\\\"\\n\",1]\n");
    /// let back = ctx.read_json::<(String, u8)>(&out, 2, ParseMode::FailFast).unwrap();
    /// assert_eq!(back.collect().unwrap(), pairs);
    ///
    /// let zipped = dir.path().join("zipped");
    /// ctx.parallelize(pairs.clone(), 1).save_as_json(&zipped, Some(Codec::Zstd)).unwrap();
    /// assert!(zipped.join("part-00000.json.zst").exists());
    /// ```
    ///
    /// # Errors
    /// `path` exists already ([`Error::OutputExists`]), a record that JSON cannot hold (a
    /// map with keys that are not strings: [`Error::Serde`]), or writing fails.
    pub fn save_as_json(&self, path: impl AsRef<Path>, codec: Option<Codec>) -> Result<()> {
        crate::io::write_part_files(self, path.as_ref(), ".json", codec, |w, it, attempt| {
            let mut line = Vec::new();
            for b in it {
                for r in b? {
                    line.clear();
                    serde_json::to_writer(&mut line, &r).map_err(Error::serde)?;
                    line.push(b'\n');
                    w.write_all(&line)
                        .map_err(|e| Error::io("writing", attempt, e))?;
                }
            }
            Ok(())
        })
    }
}

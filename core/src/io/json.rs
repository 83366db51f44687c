//! JSON lines, as Spark's `spark.read.json` reads them by default and `df.write.json`
//! writes them: one JSON value per line, into and from typed serde records (the `json`
//! feature).
//!
//! Lines are parsed with `serde_json` inside the tasks of [`Context::parse_text_file`],
//! so files are read in parallel over byte splits, compressed ones decompressed, and
//! every error names `path:line`.

use std::cell::Cell;
use std::io::Write;
use std::path::Path;

use serde::de::{self, DeserializeOwned, IntoDeserializer};
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
/// object with each field that does not parse set to null, as Spark 3 keeps the fields that
/// parse, or, for a line that is not a JSON object, every field null (the record of `{}`).
fn lenient<T: DeserializeOwned>(line: &str) -> Option<T> {
    if let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(line) {
        // Each try that fails at a field's value nulls that field; at most one try per field.
        for _ in 0..=map.len() {
            let culprit = Cell::new(None);
            match T::deserialize(Tracked {
                map: &map,
                culprit: &culprit,
            }) {
                Ok(t) => return Some(t),
                Err(_) => match culprit.get().and_then(|i| map.values_mut().nth(i)) {
                    Some(v) if !v.is_null() => *v = Value::Null,
                    _ => break,
                },
            }
        }
    }
    serde_json::from_str("{}").ok()
}

/// A JSON object as a deserializer that notes which field's value is being deserialized,
/// so that an error can be traced to its field (as `serde_path_to_error` does, one level
/// deep).
struct Tracked<'a> {
    map: &'a serde_json::Map<String, Value>,
    /// The index of the field whose value is being deserialized, until it is.
    culprit: &'a Cell<Option<usize>>,
}

impl<'de> de::Deserializer<'de> for Tracked<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Fields {
            entries: self.map.iter().enumerate(),
            value: None,
            culprit: self.culprit,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct Fields<'a, I> {
    entries: I,
    value: Option<(usize, &'a Value)>,
    culprit: &'a Cell<Option<usize>>,
}

impl<'de, 'a, I> de::MapAccess<'de> for Fields<'a, I>
where
    I: Iterator<Item = (usize, (&'a String, &'a Value))>,
{
    type Error = serde_json::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((i, (key, value))) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((i, value));
        seed.deserialize(key.as_str().into_deserializer()).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let (i, value) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value before its key"))?;
        self.culprit.set(Some(i));
        let v = seed.deserialize(value.clone())?;
        self.culprit.set(None);
        Ok(v)
    }
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
    /// ([`Permissive`](ParseMode::Permissive)) set each field that does not parse to `None`
    /// if the line is an object (a nested object with a bad field is `None` as a whole),
    /// and otherwise every field (the record `{}` gives), as Spark sets them to null. A
    /// line whose record cannot hold that (a bad field that is not an `Option`) fails the
    /// job;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Reading {
        id: u32,
        value: Option<f64>,
        unit: Option<String>,
        tags: Option<Vec<String>>,
    }

    #[test]
    fn permissive_nulls_exactly_the_fields_that_do_not_parse() {
        let r = |value, unit: Option<&str>, tags: Option<Vec<&str>>| Reading {
            id: 7,
            value,
            unit: unit.map(Into::into),
            tags: tags.map(|t| t.into_iter().map(Into::into).collect()),
        };
        let line = r#"{"id":7,"value":"high","unit":"C","tags":[1,"a"]}"#;
        assert_eq!(lenient::<Reading>(line), Some(r(None, Some("C"), None)));
        let line = r#"{"tags":["a"],"unit":3,"value":1.5,"id":7,"extra":{}}"#;
        assert_eq!(
            lenient::<Reading>(line),
            Some(r(Some(1.5), None, Some(vec!["a"])))
        );
        // A bad field that is not an Option, or no id at all: no record.
        assert_eq!(lenient::<Reading>(r#"{"id":"seven","value":1}"#), None);
        assert_eq!(lenient::<Reading>("{\"id\":7,"), None);
        // Not an object: every field null, where the record can hold that.
        let all_null = lenient::<Option<Reading>>("[1,2]");
        assert_eq!(all_null, None);
        #[derive(Debug, PartialEq, Deserialize)]
        struct Loose {
            a: Option<u8>,
        }
        assert_eq!(lenient::<Loose>("nonsense"), Some(Loose { a: None }));
    }

    #[test]
    fn errors_name_the_column() {
        let e = serde_json::from_str::<Reading>(r#"{"id":-1}"#).unwrap_err();
        assert_eq!(
            describe(&e),
            "invalid value: integer `-1`, expected u32 at column 8"
        );
    }
}

//! Data in and out: files, compression, and the seam for other systems.
//!
//! - `input`: what an input path names (a file, a directory's visible files, a glob, or a
//!   comma-separated list of these, as Hadoop's `FileInputFormat` reads them);
//! - `codec`: compression by file extension ([`Codec`]);
//! - `text`: `text_file`, `parse_text_file` and `read_text_chunks` ([`Lines`]), lines
//!   read in parallel over byte-range splits, with each line's origin ([`LineOrigin`])
//!   for errors that name `path:line`;
//! - `whole`: `whole_text_files` and `binary_files`, one record per file;
//! - `output`: `save_as_text_file`, part files committed by renaming a temporary
//!   directory;
//! - `interrupt`: temporary outputs and scratch directories registered while they exist
//!   ([`Temporary`]), for a SIGINT or SIGTERM handler to remove ([`remove_temporaries`]);
//! - `text_record`: how a record is written as a line of text ([`TextRecord`]: `Display`,
//!   and tuples as Scala writes them, `(a,1)`);
//! - `parse_mode`: what record readers do with malformed lines ([`ParseMode`], Spark's
//!   `mode`), and records read with their corrupt lines kept aside ([`Parsed`]);
//! - `csv`: CSV files into and from serde records ([`CsvOptions`], `Context::read_csv`,
//!   [`CsvWriteOptions`], `Dataset::save_as_csv`; the `csv` feature), over `fields`:
//!   records as flat rows of fields;
//! - `json`: JSON lines into and from serde records (`Context::read_json`,
//!   `Dataset::save_as_json`; the `json` feature);
//! - `source`: the [`DataSource`] and [`DataSink`] traits, through which other systems
//!   (databases, object stores, formats) become datasets and take them back.

mod codec;
#[cfg(feature = "csv")]
mod csv;
#[cfg(feature = "csv")]
mod fields;
mod input;
mod interrupt;
#[cfg(feature = "json")]
mod json;
mod output;
mod parse_mode;
mod source;
mod text;
mod text_record;
mod whole;

#[cfg(feature = "csv")]
pub use self::csv::{CsvOptions, CsvWriteOptions};
pub use codec::{open_decoded, Codec};
pub use input::{excerpt, resolve_inputs};
pub use interrupt::{remove_temporaries, Temporary};
pub use parse_mode::{CorruptRecord, ParseMode, Parsed};
pub use source::{DataSink, DataSource, RecordBatches};
pub use text::{line_number, LineOrigin, Lines};
pub use text_record::{as_text, TextRecord, ViaDisplay};

#[cfg_attr(not(any(feature = "csv", feature = "json")), allow(unused_imports))]
pub(crate) use output::{save_as_object_file, save_as_text_file, write_part_files};
pub(crate) use source::{read_source, write_to_sink};
pub(crate) use text::{parse_text_file, read_text_chunks};
pub(crate) use whole::{binary_files, whole_text_files};

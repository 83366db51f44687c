//! # Firesteel
//!
//! A partitioned in-memory dataset engine in the spirit of Apache Spark. This crate
//! re-exports the engine ([`core`]), the ML library ([`mllib`]) and the graph library
//! ([`graphx`]), and holds the `firesteel` command-line tool.

pub use firesteel_core as core;
pub use firesteel_core::{example, Context, ContextBuilder, Dataset, Error, Result, StorageLevel};
pub use firesteel_graphx as graphx;
pub use firesteel_mllib as mllib;

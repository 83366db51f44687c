//! Model persistence: a versioned JSON envelope `{format, kind, version, model}`.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::estimator::TrainingSummary;

/// The envelope's `format` tag.
pub const FORMAT: &str = "firesteel-mllib-model";
/// The format version this build writes and reads. Version 2 stores every model's
/// [`TrainingSummary`] in one shape.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Serialize)]
struct EnvelopeOut<'a, M> {
    format: &'a str,
    kind: &'a str,
    version: u32,
    model: &'a M,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    format: String,
    kind: String,
    version: u32,
    model: serde_json::Value,
}

/// A trained model: what [`Fit`](crate::Fit) returns. It reports how training went, and
/// it can be saved and loaded.
pub trait Model: Serialize + DeserializeOwned {
    /// The kind written to (and expected in) the file.
    const KIND: &'static str;

    /// How training went (saved with the model).
    fn training_summary(&self) -> &TrainingSummary;

    /// Writes the model to `path` (via a temporary file and a rename).
    fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |source| MlError::Io {
            path: path.to_path_buf(),
            source,
        };
        let env = EnvelopeOut {
            format: FORMAT,
            kind: Self::KIND,
            version: FORMAT_VERSION,
            model: self,
        };
        let bytes = serde_json::to_vec(&env).map_err(|e| MlError::CorruptModel {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let tmp = path.with_extension("tmp-write");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a model written by [`save`](Self::save).
    ///
    /// # Errors
    /// I/O errors; [`MlError::CorruptModel`] for a file that is not a model;
    /// [`MlError::ModelKindMismatch`] and [`MlError::ModelVersionMismatch`].
    fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| MlError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let corrupt = |message: String| MlError::CorruptModel {
            path: path.to_path_buf(),
            message,
        };
        let env: EnvelopeIn = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if env.format != FORMAT {
            return Err(corrupt(format!("unknown format tag {:?}", env.format)));
        }
        if env.version != FORMAT_VERSION {
            return Err(MlError::ModelVersionMismatch {
                path: path.to_path_buf(),
                found: env.version,
                supported: FORMAT_VERSION,
            });
        }
        if env.kind != Self::KIND {
            return Err(MlError::ModelKindMismatch {
                path: path.to_path_buf(),
                expected: Self::KIND.into(),
                found: env.kind,
            });
        }
        serde_json::from_value(env.model).map_err(|e| corrupt(e.to_string()))
    }
}

//! [`ArrowBatch`]: an Arrow record batch as a dataset record.

use std::ops::Deref;

use arrow_array::RecordBatch;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Arrow [`RecordBatch`] as a dataset record (one per batch read), for columnar code.
///
/// Records of a dataset must be serializable (for shuffles, spills and caches): a batch
/// serializes as the bytes of an Arrow IPC stream (its schema and its one batch). It
/// dereferences to the [`RecordBatch`].
///
/// ```
/// use std::sync::Arc;
/// use firesteel_connectors::parquet::arrow::array::{Int64Array, RecordBatch};
/// use firesteel_connectors::parquet::ArrowBatch;
///
/// let ids = Arc::new(Int64Array::from(vec![1, 2, 3]));
/// let batch = ArrowBatch::from(RecordBatch::try_from_iter([("id", ids as _)]).unwrap());
/// assert_eq!(batch.num_rows(), 3);
/// let bytes = postcard::to_allocvec(&batch).unwrap();
/// let back: ArrowBatch = postcard::from_bytes(&bytes).unwrap();
/// assert_eq!(back, batch);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ArrowBatch(pub RecordBatch);

impl ArrowBatch {
    /// The record batch.
    pub fn into_inner(self) -> RecordBatch {
        self.0
    }
}

impl Deref for ArrowBatch {
    type Target = RecordBatch;

    fn deref(&self) -> &RecordBatch {
        &self.0
    }
}

impl From<RecordBatch> for ArrowBatch {
    fn from(batch: RecordBatch) -> Self {
        ArrowBatch(batch)
    }
}

impl Serialize for ArrowBatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::new();
        let mut write = || -> Result<(), arrow_schema::ArrowError> {
            let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &self.0.schema())?;
            w.write(&self.0)?;
            w.finish()
        };
        write().map_err(serde::ser::Error::custom)?;
        serde_bytes::Bytes::new(&buf).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ArrowBatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
        let mut reader =
            arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes.into_vec()), None)
                .map_err(serde::de::Error::custom)?;
        match reader.next() {
            Some(Ok(b)) => Ok(ArrowBatch(b)),
            Some(Err(e)) => Err(serde::de::Error::custom(e)),
            None => Err(serde::de::Error::custom(
                "an Arrow IPC stream without a batch",
            )),
        }
    }
}

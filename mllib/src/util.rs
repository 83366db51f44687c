//! Small shared helpers: seeded generators, Gaussian draws, row fetching.

use std::sync::Arc;

use firesteel_core::Dataset;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::data::InstanceBlock;
use crate::error::{MlError, Result};

/// A PCG generator seeded from `seed`.
pub(crate) fn rng(seed: u64) -> Pcg64 {
    Pcg64::seed_from_u64(seed)
}

/// A standard normal draw (Box–Muller).
pub(crate) fn gaussian(rng: &mut impl Rng) -> f64 {
    loop {
        let u: f64 = rng.random();
        if u > 0.0 {
            let v: f64 = rng.random();
            return (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
        }
    }
}

/// Squared Euclidean norms of the rows.
pub(crate) fn row_sq_norms(x: ArrayView2<'_, f64>) -> Array1<f64> {
    x.map_axis(Axis(1), |r| r.dot(&r))
}

/// Rows per partition, in partition order, and the number of features (0 if empty).
pub(crate) fn partition_sizes(data: &Dataset<Arc<InstanceBlock>>) -> Result<(Vec<usize>, usize)> {
    let per: Vec<(usize, usize, usize)> = data
        .map_partitions_with_index(|p, blocks| {
            let mut n = 0;
            let mut d = 0;
            for b in blocks {
                n += b.len();
                if !b.is_empty() {
                    d = b.num_features();
                }
            }
            std::iter::once((p, n, d))
        })
        .collect()?;
    let mut sizes = vec![0; data.num_partitions()];
    let mut dim = None;
    for (p, n, d) in per {
        sizes[p] = n;
        if n > 0 {
            match dim {
                None => dim = Some(d),
                Some(x) if x != d => {
                    return Err(MlError::DimensionMismatch {
                        expected: x,
                        got: d,
                    })
                }
                _ => {}
            }
        }
    }
    Ok((sizes, dim.unwrap_or(0)))
}

/// The rows with the given global indices (partition order, then position), returned in
/// the order of `indices`.
pub(crate) fn fetch_rows(
    data: &Dataset<Arc<InstanceBlock>>,
    sizes: &[usize],
    indices: &[usize],
) -> Result<Array2<f64>> {
    let mut offsets = vec![0usize; sizes.len() + 1];
    for (i, s) in sizes.iter().enumerate() {
        offsets[i + 1] = offsets[i] + s;
    }
    let wanted: Arc<Vec<usize>> = Arc::new(indices.to_vec());
    let offsets = Arc::new(offsets);
    let found: Vec<(usize, Vec<f64>)> = data
        .map_partitions_with_index(move |p, blocks| {
            let (lo, hi) = (offsets[p], offsets[p + 1]);
            let mut out = Vec::new();
            let mut pos = lo;
            for b in blocks {
                let end = pos + b.len();
                for (slot, &g) in wanted.iter().enumerate() {
                    if g >= pos && g < end && g < hi {
                        out.push((slot, b.features.row(g - pos).to_vec()));
                    }
                }
                pos = end;
            }
            out
        })
        .collect()?;
    let d = found.first().map_or(0, |(_, r)| r.len());
    let mut m = Array2::zeros((indices.len(), d));
    for (slot, r) in found {
        m.row_mut(slot).assign(&Array1::from(r));
    }
    Ok(m)
}

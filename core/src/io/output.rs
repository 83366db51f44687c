//! Output files: one part file per partition in a directory, committed all at once.
//!
//! Tasks write `part-NNNNN` files (each through an attempt file renamed when complete)
//! into a hidden temporary directory next to the output, which is renamed to the output
//! path, with an empty `_SUCCESS` marker, only when every task succeeded. A failed job
//! leaves nothing that looks complete.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::codec::{Codec, Encoder};
use super::text_record::{as_text, TextRecord};
use crate::error::{Error, Result};
use crate::rdd::BatchIter;
use crate::{Data, Dataset};

/// Writes each partition of `ds` as a part file `part-NNNNN{suffix}{codec extension}` of
/// the directory `path` with `write`, and commits the directory.
pub(crate) fn write_part_files<T, W>(
    ds: &Dataset<T>,
    path: &Path,
    suffix: &str,
    codec: Option<Codec>,
    write: W,
) -> Result<()>
where
    T: Data,
    W: Fn(&mut Encoder, BatchIter<T>, &Path) -> Result<()> + Sync,
{
    if path.exists() {
        return Err(Error::OutputExists(path.to_path_buf()));
    }
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} has no file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    // In cluster mode every process writes its own parts into the same directory, so its
    // name must not depend on the process, and no process may clear it.
    let cluster = ds.ctx.num_processes() > 1;
    let owner = if cluster {
        "cluster".to_string()
    } else {
        std::process::id().to_string()
    };
    let tmp = parent.join(format!(".{name}.firesteel-tmp-{owner}-{}", ds.id()));
    if !cluster {
        let _ = std::fs::remove_dir_all(&tmp);
        remove_stale_temporaries(parent, &name);
    }
    let _interrupted = super::Temporary::register(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
    let extension = format!("{suffix}{}", codec.map_or("", Codec::extension));
    let tmp2 = tmp.clone();
    let result = ds.run_all(move |tc, it| {
        let part = tmp2.join(format!("part-{:05}{extension}", tc.partition));
        let attempt = tmp2.join(format!(
            ".part-{:05}{extension}.attempt-{}",
            tc.partition, tc.attempt
        ));
        let file = File::create(&attempt).map_err(|e| Error::io("creating", &attempt, e))?;
        let mut w = Encoder::new(file, &attempt, codec)?;
        write(&mut w, it, &attempt)?;
        w.finish().map_err(|e| Error::io("writing", &attempt, e))?;
        std::fs::rename(&attempt, &part).map_err(|e| Error::io("renaming", &attempt, e))?;
        Ok(())
    });
    // Commit in a one-task job, so that in cluster mode one process renames and every
    // process returns only after it did (or sees its error).
    let (tmp2, path2) = (tmp.clone(), path.to_path_buf());
    let finish = result.and_then(|_| {
        ds.ctx
            .parallelize(vec![()], 1)
            .run_all(move |_, _| {
                let marker = tmp2.join("_SUCCESS");
                std::fs::write(&marker, b"").map_err(|e| Error::io("writing", &marker, e))?;
                std::fs::rename(&tmp2, &path2)
                    .map_err(|e| Error::io("renaming output to", &path2, e))
            })
            .map(drop)
    });
    if finish.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    finish
}

/// Whether process `pid` is alive, where the platform can tell (Linux's `/proc`);
/// elsewhere every process counts as alive, so nothing is removed.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Removes the temporary directories of `name` left by local runs that died (killed
/// before they could commit or clean up): their names carry the writer's process id.
fn remove_stale_temporaries(parent: &Path, name: &str) {
    let prefix = format!(".{name}.firesteel-tmp-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            tracing::info!(path = %e.path().display(), "removing the temporary output of a dead run");
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

pub(crate) fn save_as_text_file<V, T: Data + TextRecord<V>>(
    ds: &Dataset<T>,
    path: &Path,
    codec: Option<Codec>,
) -> Result<()> {
    write_part_files(ds, path, "", codec, |w, it, attempt| {
        let write_err = |e| Error::io("writing", attempt, e);
        for b in it {
            for r in b? {
                writeln!(w, "{}", as_text(&r)).map_err(write_err)?;
            }
        }
        Ok(())
    })
}

/// Writes `ds` as part files of length-prefixed postcard records: the format of
/// checkpoints and spill files, which [`Context::object_file`](crate::Context::object_file)
/// reads.
pub(crate) fn save_as_object_file<T: Data>(ds: &Dataset<T>, path: &Path) -> Result<()> {
    write_part_files(ds, path, "", None, |w, it, attempt| {
        let mut buf = Vec::new();
        for b in it {
            buf.clear();
            for r in b? {
                crate::ser::encode_into(&r, &mut buf)?;
            }
            w.write_all(&buf)
                .map_err(|e| Error::io("writing", attempt, e))?;
        }
        Ok(())
    })
}

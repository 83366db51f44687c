//! What a run depends on beyond the binary: its command-line arguments and the input files
//! they name. Every process of a cluster checks that the others hash the same
//! (`Context::ensure_same`), so that processes started with different arguments or
//! different input files fail with a plan mismatch instead of blending their results; and
//! a checkpoint of parsed input records the identity of the input it was made from
//! ([`input_identity`]), so that it is never resumed for another input.

use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Flags whose values differ between the processes of one run, and are left out.
const PER_PROCESS: [&str; 2] = ["--process-rank", "--peers"];

/// Flags naming what a run writes, which may exist on some machines only: their values
/// are hashed as text, never read.
const OUTPUTS: [&str; 2] = ["--output", "--checkpoint"];

/// How much of the start and of the end of an input file goes into its identity.
const EDGE: u64 = 64 * 1024;

/// The hash of `args` (without the program name): each argument as text, `--flag=value`
/// hashed as `--flag value`, the per-process flags left out; and for each argument that
/// names a regular file (not an output), the file's size and its first and last 64 KiB.
pub(crate) fn fingerprint(args: impl IntoIterator<Item = OsString>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut skip_value = false;
    let mut is_output = false;
    for arg in args.into_iter().flat_map(split_equals) {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if PER_PROCESS.iter().any(|f| arg == *f) {
            skip_value = true;
            continue;
        }
        arg.hash(&mut h);
        if !std::mem::replace(&mut is_output, OUTPUTS.iter().any(|f| arg == *f)) {
            file_identity(Path::new(&arg), &mut h);
        }
    }
    h.finish()
}

/// The identity of the input `spec` names: a URL as it is; for files (a file, a
/// directory, a glob, a comma list), each file's path, size and the hash of its first and
/// last 64 KiB. `None` if the files cannot be listed (the input is gone).
pub(crate) fn input_identity(spec: &Path) -> Option<String> {
    let text = spec.to_string_lossy();
    if text.contains("://") {
        return Some(text.into_owned());
    }
    let files = firesteel::core::io::resolve_inputs(spec).ok()?;
    let mut out = String::new();
    for f in files {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        file_identity(&f, &mut h);
        out.push_str(&format!("{} {:016x}\n", f.display(), h.finish()));
    }
    Some(out)
}

/// `--flag=value` as `--flag` and `value`; other arguments as they are.
fn split_equals(arg: OsString) -> Vec<OsString> {
    match arg
        .to_str()
        .and_then(|a| a.strip_prefix("--")?.split_once('='))
    {
        Some((flag, value)) => vec![format!("--{flag}").into(), value.into()],
        None => vec![arg],
    }
}

/// Hashes the size and the first and last [`EDGE`] bytes of `path`, if it is a regular
/// file; nothing otherwise (a directory's listing changes while a stream watches it).
fn file_identity(path: &Path, h: &mut impl Hasher) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if !meta.is_file() {
        return;
    }
    meta.len().hash(h);
    let Ok(mut file) = std::fs::File::open(path) else {
        return;
    };
    let mut buf = Vec::with_capacity(2 * EDGE as usize);
    let _ = (&mut file).take(EDGE).read_to_end(&mut buf);
    if meta.len() > EDGE
        && file
            .seek(SeekFrom::Start(meta.len().saturating_sub(EDGE).max(EDGE)))
            .is_ok()
    {
        let _ = file.take(EDGE).read_to_end(&mut buf);
    }
    buf.hash(h);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(args: &[&str]) -> u64 {
        fingerprint(args.iter().map(OsString::from))
    }

    #[test]
    fn per_process_flags_and_spelling_do_not_count() {
        let base = of(&["kmeans", "--k", "3"]);
        assert_eq!(base, of(&["kmeans", "--k=3"]));
        assert_eq!(
            base,
            of(&[
                "kmeans",
                "--process-rank",
                "1",
                "--k",
                "3",
                "--peers=a:1,b:2"
            ])
        );
        assert_ne!(base, of(&["kmeans", "--k", "4"]));
    }

    #[test]
    fn input_files_count_by_content_and_outputs_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.txt");
        let arg = input.to_str().unwrap();
        std::fs::write(&input, "a b\n").unwrap();
        let before = of(&["wordcount", arg]);
        assert_eq!(before, of(&["wordcount", arg]));
        std::fs::write(&input, "a c\n").unwrap();
        assert_ne!(before, of(&["wordcount", arg]), "same size, other bytes");
        // A file past 128 KiB differing only in its last bytes.
        let mut big = vec![b'x'; 300 * 1024];
        std::fs::write(&input, &big).unwrap();
        let one = of(&["wordcount", arg]);
        *big.last_mut().unwrap() = b'y';
        std::fs::write(&input, &big).unwrap();
        assert_ne!(one, of(&["wordcount", arg]));
        // An existing output is named, not read.
        let out = dir.path().join("out.tsv");
        let out_arg = out.to_str().unwrap();
        let without = of(&["wordcount", "--output", out_arg]);
        std::fs::write(&out, "old").unwrap();
        assert_eq!(without, of(&["wordcount", "--output", out_arg]));
    }
}

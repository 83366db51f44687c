//! What an interrupted process would leave behind. Temporary outputs (written aside and
//! renamed when complete) and scratch directories are registered while they exist;
//! [`remove_temporaries`] removes whatever is registered, for a signal handler to call
//! before the process dies of SIGINT or SIGTERM. A process killed outright (SIGKILL) leaves
//! its temporary outputs, which the next run writing the same output recognises by their
//! dead owner and removes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

static REGISTERED: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

fn registered() -> std::sync::MutexGuard<'static, Vec<(u64, PathBuf)>> {
    REGISTERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A registered temporary path: removed by [`remove_temporaries`] while the guard lives,
/// forgotten (not removed) when it is dropped.
///
/// ```
/// use firesteel_core::io::{remove_temporaries, Temporary};
///
/// let dir = tempfile::tempdir().unwrap();
/// let tmp = dir.path().join(".out.tmp");
/// std::fs::create_dir(&tmp).unwrap();
/// let guard = Temporary::register(&tmp);
/// remove_temporaries(); // as a signal handler would
/// assert!(!tmp.exists());
/// drop(guard);
/// ```
#[derive(Debug)]
#[must_use = "the path is forgotten when the guard is dropped"]
pub struct Temporary {
    id: u64,
}

impl Temporary {
    /// Registers `path` (a file or a directory, which need not exist yet).
    pub fn register(path: impl AsRef<Path>) -> Temporary {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        registered().push((id, path.as_ref().to_path_buf()));
        Temporary { id }
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        registered().retain(|(id, _)| *id != self.id);
    }
}

/// Removes every registered temporary path, and returns how many existed. Meant for a
/// handler of SIGINT and SIGTERM, just before the process ends: tasks may still be
/// writing, so the process must not go on afterwards.
pub fn remove_temporaries() -> usize {
    let paths: Vec<PathBuf> = registered().iter().map(|(_, p)| p.clone()).collect();
    let mut removed = 0;
    for p in paths {
        let gone = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        removed += usize::from(gone.is_ok());
    }
    removed
}

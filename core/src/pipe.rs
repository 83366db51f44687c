//! Records through an external command, as Spark's `pipe`: one process per partition, the
//! partition's records written to its standard input one line each (as text outputs write
//! them: [`TextRecord`](crate::io::TextRecord), so a pair is `(a,1)`), and the
//! lines of its standard output as the new partition. A command that cannot start, or
//! exits with a non-zero status, fails the task with the command, the status and the end
//! of its standard error.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::io::{as_text, TextRecord};
use crate::rdd::BatchIter;
use crate::Data;

/// How much of a failed command's standard error goes into the error message.
const STDERR_TAIL: usize = 2048;

/// A command and the environment it runs with.
#[derive(Debug)]
struct Piped {
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

impl Piped {
    fn describe(&self) -> String {
        self.argv.join(" ")
    }

    fn fail(&self, partition: usize, what: String) -> Error {
        Error::Unrecoverable(format!(
            "pipe: command `{}` (partition {partition}) {what}",
            self.describe()
        ))
    }

    /// Runs the command over one partition's records; its output lines.
    fn run<V, T: TextRecord<V> + Clone>(
        &self,
        partition: usize,
        input: BatchIter<T>,
    ) -> Result<Vec<String>> {
        let (program, args) = self
            .argv
            .split_first()
            .ok_or_else(|| Error::InvalidArgument("pipe: the command is empty".into()))?;
        let mut child = Command::new(program)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.fail(partition, format!("could not start: {e}")))?;
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        // Output is read while input is written, so that neither side blocks the other.
        let reader = std::thread::spawn(move || -> std::io::Result<Vec<String>> {
            BufReader::new(stdout).lines().collect()
        });
        let errors = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            let tail = &all[all.len().saturating_sub(STDERR_TAIL)..];
            String::from_utf8_lossy(tail).trim_end().to_owned()
        });
        let mut stdin = std::io::BufWriter::new(child.stdin.take().expect("piped"));
        let mut written: Result<()> = Ok(());
        'records: for batch in input {
            for record in batch? {
                if let Err(e) = writeln!(stdin, "{}", as_text(&record)) {
                    // A command that stops reading (`head -1`) ends its input early.
                    if e.kind() != std::io::ErrorKind::BrokenPipe {
                        written = Err(self.fail(partition, format!("input: {e}")));
                    }
                    break 'records;
                }
            }
        }
        if let Err(e) = stdin.flush() {
            if e.kind() != std::io::ErrorKind::BrokenPipe && written.is_ok() {
                written = Err(self.fail(partition, format!("input: {e}")));
            }
        }
        drop(stdin);
        let lines = reader.join().unwrap_or_else(|_| Ok(Vec::new()));
        let stderr_tail = errors.join().unwrap_or_default();
        let status = child
            .wait()
            .map_err(|e| self.fail(partition, format!("could not be waited for: {e}")))?;
        written?;
        if !status.success() {
            let code = status
                .code()
                .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
            let said = if stderr_tail.is_empty() {
                String::new()
            } else {
                format!("; its standard error ends:\n{stderr_tail}")
            };
            return Err(self.fail(partition, format!("exited with {code}{said}")));
        }
        lines.map_err(|e| self.fail(partition, format!("output: {e}")))
    }
}

impl<T: Data> Dataset<T> {
    /// Each partition's records through the command `command` (split at whitespace), as
    /// Spark's `pipe`: one process per partition reads the records as lines on its
    /// standard input, and the lines it writes make the new partition.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec!["1".to_string(), "2".into(), "".into(), "3".into()], 2);
    ///     assert_eq!(d.pipe("cat").collect().unwrap(), vec!["1", "2", "", "3"]);
    /// });
    /// ```
    ///
    /// A command that cannot start or exits with a non-zero status fails the job (once;
    /// it is not retried) with the command, the status and the end of its standard error.
    pub fn pipe<V>(&self, command: &str) -> Dataset<String>
    where
        T: TextRecord<V>,
    {
        self.pipe_with(
            command.split_whitespace().map(str::to_owned).collect(),
            Vec::new(),
        )
    }

    /// As [`pipe`](Self::pipe), with the command's arguments given one by one and
    /// environment variables added to the command's environment.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3], 1);
    ///     let argv = vec!["sh".into(), "-c".into(), "echo $GREETING; wc -l".into()];
    ///     let out = d.pipe_with(argv, vec![("GREETING".into(), "hello".into())]);
    ///     let lines: Vec<String> = out.collect().unwrap();
    ///     assert_eq!(lines[0], "hello");
    ///     assert_eq!(lines[1].trim(), "3");
    /// });
    /// ```
    pub fn pipe_with<V>(&self, argv: Vec<String>, env: Vec<(String, String)>) -> Dataset<String>
    where
        T: TextRecord<V>,
    {
        let piped = Arc::new(Piped { argv, env });
        self.map_batches_of_partitions("pipe", false, move |_, split, it| {
            match piped.run(split, it) {
                Ok(lines) => crate::rdd::batches_from_vec(lines),
                Err(e) => Box::new(std::iter::once(Err(e))),
            }
        })
    }
}

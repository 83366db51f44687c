//! Input forms (globs, directories, lists), compressed inputs and outputs, line origins
//! from inside tasks, and whole-file reads.

use std::io::Write;
use std::path::{Path, PathBuf};

use firesteel_core::io::Codec;
use firesteel_core::{Context, Error};

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn compress(codec: Codec, path: &Path, text: &[u8]) {
    let f = std::fs::File::create(path).unwrap();
    match codec {
        Codec::Gzip => {
            let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap();
        }
        Codec::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(f, bzip2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap();
        }
        Codec::Zstd => {
            let mut e = zstd::stream::write::Encoder::new(f, 3).unwrap();
            e.write_all(text).unwrap();
            e.finish().unwrap();
        }
        _ => unreachable!(),
    }
}

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn glob_directory_and_list_give_the_union_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("b.txt"), "b1\nb2\n");
    write(&d.join("a.txt"), "a1\n");
    write(&d.join("c.txt"), "c1\nc2\nc3");
    write(&d.join("_SUCCESS"), "");
    write(&d.join(".hidden.txt"), "h\n");
    let ctx = Context::local(2).unwrap();
    let want = ["a1", "b1", "b2", "c1", "c2", "c3"];
    let dd = d.display();
    for spec in [
        format!("{dd}"),
        format!("{dd}/*.txt"),
        format!("{dd}/[a-c].txt"),
        format!("{dd}/{{a,b,c}}.txt"),
        format!("{dd}/a.txt,{dd}/b.txt,{dd}/c.txt"),
        format!("{dd}/a.txt,{dd}/{{b,c}}.*"),
    ] {
        for parts in [1, 3] {
            let got = ctx.text_file(&spec, parts).unwrap().collect().unwrap();
            assert_eq!(got, want, "{spec} in {parts}");
        }
    }
    // A list keeps the order it names.
    let got = ctx
        .text_file(format!("{dd}/c.txt,{dd}/a.txt"), 2)
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(got, ["c1", "c2", "c3", "a1"]);
    let e = ctx.text_file(format!("{dd}/*.csv"), 2).unwrap_err();
    assert!(matches!(e, Error::NoMatch(_)), "{e:?}");
    assert!(e.to_string().contains("*.csv"), "{e}");
    let e = ctx
        .text_file(format!("{dd}/a.txt,{dd}/nope.txt"), 2)
        .unwrap_err();
    assert!(
        matches!(e, Error::Io { .. }) && e.to_string().contains("nope.txt"),
        "{e}"
    );
}

#[test]
fn compressed_inputs_equal_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = numbered(50_000);
    let plain = dir.path().join("plain.txt");
    write(&plain, &text);
    let ctx = Context::local(2).unwrap();
    let want = ctx.text_file(&plain, 4).unwrap().collect().unwrap();
    assert_eq!(want.len(), 50_000);
    for codec in [Codec::Gzip, Codec::Bzip2, Codec::Zstd] {
        let path = dir.path().join(format!("data.txt{}", codec.extension()));
        compress(codec, &path, text.as_bytes());
        let ds = ctx.text_file(&path, 4).unwrap();
        assert_eq!(ds.num_partitions(), 1, "{codec:?} is one split");
        assert_eq!(ds.collect().unwrap(), want, "{codec:?}");
    }
    // Mixed plain and compressed files in one directory read as one input.
    let got = ctx.text_file(dir.path(), 3).unwrap().count().unwrap();
    assert_eq!(got, 4 * 50_000);
    // Concatenated gzip members are one stream, as Hadoop reads them.
    let two = dir.path().join("two.gz");
    compress(Codec::Gzip, &two, b"first\n");
    let mut more = Vec::new();
    {
        let mut e = flate2::write::GzEncoder::new(&mut more, flate2::Compression::default());
        e.write_all(b"second\n").unwrap();
        e.finish().unwrap();
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&two)
        .unwrap()
        .write_all(&more)
        .unwrap();
    assert_eq!(
        ctx.text_file(&two, 1).unwrap().collect().unwrap(),
        ["first", "second"]
    );
}

#[test]
fn a_truncated_gzip_stream_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.txt.gz");
    compress(Codec::Gzip, &path, numbered(10_000).as_bytes());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let ctx = Context::local(2).unwrap();
    let e = ctx.text_file(&path, 1).unwrap().count().unwrap_err();
    assert!(matches!(e.root_cause(), Error::Io { .. }), "{e:?}");
    assert!(e.root_cause().to_string().contains("cut.txt.gz"), "{e}");
}

/// A parser inside a task names the exact line, far past the first split, in plain and
/// compressed files.
#[test]
fn line_origins_are_exact_in_every_split() {
    let dir = tempfile::tempdir().unwrap();
    let n = 200_000;
    let bad = 187_654;
    let text: String = (1..=n)
        .map(|i| {
            if i == bad {
                "oops\n".to_string()
            } else {
                format!("{i}\n")
            }
        })
        .collect();
    let plain = dir.path().join("nums.txt");
    write(&plain, &text);
    let gz = dir.path().join("nums.txt.gz");
    compress(Codec::Gzip, &gz, text.as_bytes());
    let ctx = Context::local(2).unwrap();
    for (path, parts) in [(&plain, 1), (&plain, 7), (&gz, 3)] {
        let ds = ctx
            .parse_text_file(path, parts, |line, origin| {
                let v: u64 = line
                    .parse()
                    .map_err(|_| origin.error(format!("bad number {line:?}")))?;
                // Every line's number is its value: check them all, not just the bad one.
                if v != origin.line() {
                    return Err(Error::task_failed(format!("{v} at line {}", origin.line())));
                }
                Ok(Some(v))
            })
            .unwrap();
        let e = ds.collect().unwrap_err();
        assert!(
            matches!(e, Error::JobFailed { attempts: 1, .. }),
            "not retried: {e:?}"
        );
        match e.root_cause() {
            Error::Parse {
                path: p,
                line,
                message,
            } => {
                assert_eq!((p, *line), (path, bad as u64));
                assert_eq!(message, "bad number \"oops\"");
            }
            other => panic!("{other:?}"),
        }
        // Without the bad line every line's number checks out, whatever the splits.
        let ok = ctx
            .parse_text_file(path, parts, |line, origin| {
                Ok(line.parse::<u64>().ok().map(|v| (v, origin.line())))
            })
            .unwrap()
            .collect()
            .unwrap();
        assert_eq!(ok.len(), n - 1);
        assert!(ok.iter().all(|&(v, l)| v == l));
    }
}

#[test]
fn invalid_utf8_in_a_late_split_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bytes.txt");
    let mut bytes = numbered(100_000).into_bytes();
    bytes.extend_from_slice(b"caf\xe9\n");
    bytes.extend_from_slice(numbered(10).as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let ctx = Context::local(2).unwrap();
    let e = ctx.text_file(&path, 8).unwrap().count().unwrap_err();
    assert!(
        matches!(e.root_cause(), Error::Parse { line: 100_001, .. }),
        "{e:?}"
    );
}

#[test]
fn compressed_outputs_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::local(2).unwrap();
    let data: Vec<u64> = (0..10_000).collect();
    let ds = ctx.parallelize(data.clone(), 3);
    for codec in [Codec::Gzip, Codec::Bzip2, Codec::Zstd] {
        let out = dir.path().join(format!("out{}", codec.extension()));
        ds.save_as_text_file_with_codec(&out, codec).unwrap();
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        parts.sort();
        let names: Vec<_> = parts
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let ext = codec.extension();
        assert_eq!(
            names,
            [
                "_SUCCESS".to_string(),
                format!("part-00000{ext}"),
                format!("part-00001{ext}"),
                format!("part-00002{ext}")
            ]
        );
        let back: Vec<u64> = ctx
            .text_file(&out, 2)
            .unwrap()
            .map(|l| l.parse::<u64>().unwrap())
            .collect()
            .unwrap();
        assert_eq!(back, data, "{codec:?}");
    }
}

#[test]
fn whole_files_and_binary_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("one.txt"), "1\n2\n");
    compress(Codec::Gzip, &d.join("two.txt.gz"), b"two\n");
    std::fs::write(d.join("three.bin"), [0u8, 1, 2, 255]).unwrap();
    let ctx = Context::local(2).unwrap();
    let texts = ctx.whole_text_files(d.join("*.txt*"), 4).unwrap();
    assert_eq!(texts.num_partitions(), 2);
    let got: Vec<(String, String)> = texts.collect().unwrap();
    let want = [
        (
            d.join("one.txt").display().to_string(),
            "1\n2\n".to_string(),
        ),
        (
            d.join("two.txt.gz").display().to_string(),
            "two\n".to_string(),
        ),
    ];
    assert_eq!(got, want);
    let bins = ctx.binary_files(d, 1).unwrap().collect().unwrap();
    assert_eq!(bins.len(), 3);
    assert_eq!(bins[0].1, b"1\n2\n");
    assert_eq!(bins[1].1, [0u8, 1, 2, 255]);
    // The gzip file's raw bytes, not its text.
    assert_eq!(bins[2].1, std::fs::read(d.join("two.txt.gz")).unwrap());
    // Invalid UTF-8 in a whole text file names the file and line.
    std::fs::write(d.join("bad.txt"), b"ok\nok\n\xff\n").unwrap();
    let e = ctx
        .whole_text_files(d.join("bad.txt"), 1)
        .unwrap()
        .count()
        .unwrap_err();
    assert!(
        matches!(e.root_cause(), Error::Parse { line: 3, .. }),
        "{e:?}"
    );
}

use std::path::Path;
use std::time::Instant;

use firesteel::mllib::data;
use firesteel::Context;

fn t<T>(name: &str, f: impl Fn() -> T) -> T {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..3 {
        let s = Instant::now();
        out = Some(f());
        best = best.min(s.elapsed().as_secs_f64());
    }
    println!("{name:40} {:.4} s", best);
    out.unwrap()
}

fn main() {
    let path = std::env::args().nth(1).unwrap();
    let p = Path::new(&path);
    let ctx = Context::local(2).unwrap();
    if std::env::args().nth(2).is_some() {
        let text = std::fs::read_to_string(p).unwrap();
        micro(&text);
        return;
    }
    t("fs::read", || std::fs::read(p).unwrap().len());
    t("text_file count", || ctx.text_file(p, 8).unwrap().count().unwrap());
    t("parse_text_file unit count", || {
        ctx.parse_text_file(p, 8, |_, _| Ok(Some(()))).unwrap().count().unwrap()
    });
    t("parse libsvm lines count", || {
        ctx.parse_text_file(p, 8, |l, o| {
            let mut f = Vec::new();
            Ok(data::parse_libsvm_line(l, o.path(), 0, None, &mut f).unwrap().map(|y| (y, f)))
        })
        .unwrap()
        .count()
        .unwrap()
    });
    t("load_libsvm_file", || {
        let b = data::load_libsvm_file(&ctx, p, None, 8).unwrap();
        let n = b.count().unwrap();
        let _ = b.unpersist();
        n
    });
    t("driver load_libsvm + to_blocks", || {
        let d = data::load_libsvm(p, None).unwrap();
        let b = d.to_blocks(&ctx, 8, 4096);
        let _ = b.unpersist();
        d.len()
    });
}

#[allow(dead_code)]
pub fn micro(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    t("1 thread: split_whitespace", || lines.iter().map(|l| l.split_whitespace().count()).sum::<usize>());
    t("1 thread: + split_once + usize", || {
        let mut s = 0usize;
        for l in &lines {
            for tok in l.split_whitespace().skip(1) {
                let (i, _) = tok.split_once(':').unwrap();
                s += i.parse::<usize>().unwrap();
            }
        }
        s
    });
    t("1 thread: + f64 parse", || {
        let mut s = 0f64;
        for l in &lines {
            for tok in l.split_whitespace().skip(1) {
                let (_, v) = tok.split_once(':').unwrap();
                s += v.parse::<f64>().unwrap();
            }
        }
        s
    });
    t("1 thread: parse_libsvm_line", || {
        let mut f = Vec::new();
        let mut s = 0f64;
        for l in &lines {
            s += data::parse_libsvm_line(l, Path::new("x"), 0, None, &mut f).unwrap().unwrap();
        }
        s
    });
    t("1 thread: split_ascii_whitespace", || lines.iter().map(|l| l.split_ascii_whitespace().count()).sum::<usize>());
    t("1 thread: is_ascii", || lines.iter().filter(|l| l.bytes().all(|b| b < 0x80 && b != 0x0B)).count());
    t("1 thread: ascii + f64 parse", || {
        let mut s = 0f64;
        for l in &lines {
            for tok in l.split_ascii_whitespace().skip(1) {
                let c = tok.bytes().position(|b| b == b':').unwrap();
                s += tok[c + 1..].parse::<f64>().unwrap();
            }
        }
        s
    });
    t("1 thread: bytes split only", || {
        let mut n = 0usize;
        for l in &lines {
            n += l.as_bytes().split(|&b| b == b' ').count();
        }
        n
    });
}

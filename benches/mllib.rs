//! mllib benchmarks (to be written).

fn main() {}

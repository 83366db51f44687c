//! graphx benchmarks (to be written).

fn main() {}

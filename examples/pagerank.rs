//! PageRank on Spark's `followers.txt` social graph, joined with `users.txt` to print user
//! names, as Spark's GraphX `PageRankExample` does.
//!
//! Run with `cargo run --release --example pagerank`.

use firesteel::graphx::{algorithms, edge_list_file, EdgeListOptions};
use firesteel::Context;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::local(2)?;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
    // Load the edges as a graph.
    let graph = edge_list_file(
        &ctx,
        format!("{dir}/followers.txt"),
        EdgeListOptions::default(),
    )?;
    // Run PageRank until the ranks change by less than 0.0001, as Spark's example does.
    let ranks = algorithms::dynamic_page_rank(&graph, 0.0001, algorithms::RESET_PROB)?.vertices();
    // Join the ranks with the user names.
    let users = ctx.text_file(format!("{dir}/users.txt"), 2)?.map(|line| {
        let mut fields = line.split(',');
        let id: u64 = fields.next().unwrap_or("").parse().unwrap_or(u64::MAX);
        (id, fields.next().unwrap_or("").to_string())
    });
    let mut by_name = users
        .join(&ranks)
        .map(|(_, (name, rank))| (name, rank))
        .collect()?;
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, rank) in by_name {
        println!("{name:<16} {rank:.6}");
    }
    Ok(())
}

//! Connected components of Spark's `followers.txt` social graph, joined with `users.txt` to
//! print user names, as Spark's GraphX `ConnectedComponentsExample` does.
//!
//! Run with `cargo run --release --example connected_components`.

use firesteel::graphx::{algorithms, edge_list_file, EdgeListOptions};
use firesteel::Context;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::local(2)?;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
    let graph = edge_list_file(
        &ctx,
        format!("{dir}/followers.txt"),
        EdgeListOptions::default(),
    )?;
    // Each vertex is labelled with the smallest id of its component.
    let cc = algorithms::connected_components(&graph, None)?.vertices();
    let users = ctx.text_file(format!("{dir}/users.txt"), 2)?.map(|line| {
        let mut fields = line.split(',');
        let id: u64 = fields.next().unwrap_or("").parse().unwrap_or(u64::MAX);
        (id, fields.next().unwrap_or("").to_string())
    });
    let mut by_name = users
        .join(&cc)
        .map(|(_, (name, component))| (component, name))
        .collect()?;
    by_name.sort();
    for (component, name) in by_name {
        println!("{name:<16} component {component}");
    }
    Ok(())
}

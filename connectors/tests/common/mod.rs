//! What the PostgreSQL test binaries share: finding the server, or skipping loudly.

/// The server's URL, or `None` (after saying so) when the test should be skipped.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var("FIRESTEEL_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("FIRESTEEL_REQUIRE_PG").as_deref() == Ok("1") {
                panic!(
                    "{test}: FIRESTEEL_REQUIRE_PG=1 but FIRESTEEL_PG_URL is not set \
                     (start a server with `eval \"$(.ci/postgres start)\"`)"
                );
            }
            // Straight to stderr: libtest captures `eprintln!` of passing tests.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: FIRESTEEL_PG_URL is not set; start a server with \
                 `eval \"$(.ci/postgres start)\"` (FIRESTEEL_REQUIRE_PG=1 makes this a failure)"
            );
            None
        }
    }
}

#[allow(unused_macros)]
macro_rules! server {
    ($test:expr) => {
        match server_url($test) {
            Some(u) => u,
            None => return,
        }
    };
}

#[allow(unused_imports)]
pub(crate) use server;

//! The password lookup (`PGPASSWORD`, then the `.pgpass` file) against a real server.
//!
//! In a test binary of its own: it sets environment variables, which are process-wide.
//! Skipped (loudly) without `FIRESTEEL_PG_URL` unless `FIRESTEEL_REQUIRE_PG=1`.

#![cfg(feature = "postgres")]

mod common;

use common::{server, server_url};

use firesteel_connectors::postgres::{PgConfig, PgError, PgUrl};

fn config(url: &str) -> PgConfig {
    PgUrl::parse(url).unwrap().config
}

#[test]
fn pgpass_and_pgpassword_supply_the_password() {
    let url = server!("pgpass_and_pgpassword_supply_the_password");
    let good = config(&url);
    let password = good.password.clone().unwrap();
    let mut bare = good.clone();
    bare.password = None;
    let dir = std::env::temp_dir().join(format!("firesteel-pgpass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pgpass");
    std::fs::write(
        &file,
        format!(
            "# test\nelsewhere:1:*:*:wrong\n{}:{}:*:{}:{}\n",
            good.host,
            good.port,
            good.user,
            password.replace('\\', "\\\\").replace(':', "\\:")
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // SAFETY: this is the only test in its binary (environment variables are
    // process-wide), and no other thread of the process reads the environment.
    unsafe {
        std::env::remove_var("PGPASSWORD");
        std::env::set_var("PGPASSFILE", &file);
    }
    let via_file = bare.connect().map(|_| ());
    unsafe {
        std::env::set_var("PGPASSFILE", dir.join("missing"));
        std::env::set_var("PGPASSWORD", &password);
    }
    let via_env = bare.connect().map(|_| ());
    unsafe {
        std::env::remove_var("PGPASSWORD");
    }
    let none = bare.connect().map(|_| ());
    unsafe {
        std::env::remove_var("PGPASSFILE");
    }
    let _ = std::fs::remove_dir_all(&dir);
    via_file.unwrap();
    via_env.unwrap();
    let e = none.unwrap_err();
    assert!(matches!(e, PgError::Auth { .. }), "{e:?}");
}

//! Tells the integration tests whether the PostgreSQL suite can run: with
//! `RELAY_TEST_POSTGRES_URL` set (or in CI, where its absence must fail the tests), they are
//! compiled as ordinary tests; without it, as ignored ones, so that `cargo test`'s own
//! summary counts them as ignored rather than passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(relay_postgres)");
    println!("cargo::rerun-if-env-changed=RELAY_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    let url = std::env::var("RELAY_TEST_POSTGRES_URL").unwrap_or_default();
    if !url.is_empty() || std::env::var_os("CI").is_some() {
        println!("cargo::rustc-cfg=relay_postgres");
    }
}

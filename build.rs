//! Tells the integration tests whether the PostgreSQL suite (and the nginx deployment test)
//! can run: with
//! `RELAY_TEST_POSTGRES_URL` set (or in CI, where its absence must fail the tests), they are
//! compiled as ordinary tests; without it, as ignored ones, so that `cargo test`'s own
//! summary counts them as ignored rather than passed. The console's browser tests likewise
//! (`relay_browser`): they run where `chromedriver` is installed, and always in CI.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(relay_postgres)");
    println!("cargo::rustc-check-cfg=cfg(relay_nginx)");
    println!("cargo::rustc-check-cfg=cfg(relay_browser)");
    println!("cargo::rerun-if-env-changed=CHROMEDRIVER");
    println!("cargo::rerun-if-env-changed=RELAY_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    let url = std::env::var("RELAY_TEST_POSTGRES_URL").unwrap_or_default();
    if !url.is_empty() || std::env::var_os("CI").is_some() {
        println!("cargo::rustc-cfg=relay_postgres");
    }
    // The deployment test runs Debian's nginx; CI installs it, so there it must run.
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    println!("cargo::rerun-if-changed=/usr/sbin");
    if nginx || std::env::var_os("CI").is_some() {
        println!("cargo::rustc-cfg=relay_nginx");
    }
    // The console's browser tests drive Debian's chromium through chromium-driver; CI
    // installs both, so there they must run.
    let chromedriver = std::env::var_os("CHROMEDRIVER").is_some()
        || ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .iter()
            .any(|p| std::path::Path::new(p).exists());
    println!("cargo::rerun-if-changed=/usr/bin");
    if chromedriver || std::env::var_os("CI").is_some() {
        println!("cargo::rustc-cfg=relay_browser");
    }
}

//! The declared minimum Rust (`rust-version` in Cargo.toml) covers every locked
//! dependency: compared with the highest `rust_version` among the packages of
//! `cargo metadata` (read from the lock file and the local registry, no network), for
//! this machine's platform: a fresh clone's registry holds only the packages built here
//! (not, say, Android's), and those are the ones this toolchain compiles.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// "1.88" or "1.89.0" as (major, minor, patch).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|_| panic!("version {text:?}"))
    });
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

#[test]
fn declared_rust_version_covers_every_locked_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let about = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let about = String::from_utf8_lossy(&about.stdout);
    let host = about
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names its host");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", host])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = |p: &&Value| {
        metadata["workspace_members"]
            .as_array()
            .unwrap()
            .contains(&p["id"])
    };
    let packages = metadata["packages"].as_array().unwrap();
    let declared = packages
        .iter()
        .find(|p| ours(p) && p["name"] == "webhook-relay")
        .and_then(|p| p["rust_version"].as_str())
        .expect("Cargo.toml declares rust-version");
    let (needed, by) = packages
        .iter()
        .filter(|p| !ours(p))
        .filter_map(|p| Some((version(p["rust_version"].as_str()?), p)))
        .max_by_key(|(v, _)| *v)
        .expect("locked dependencies declare their minimum Rust");
    assert!(
        version(declared) >= needed,
        "Cargo.toml declares rust-version = \"{declared}\", but {} {} needs {}.{}.{}",
        by["name"].as_str().unwrap_or("?"),
        by["version"].as_str().unwrap_or("?"),
        needed.0,
        needed.1,
        needed.2
    );
}

//! Release checks run by `cargo xtask ci`: the published crates package and
//! build from their packages, their dependencies honour the stated MSRV, and
//! their docs build the way docs.rs builds them.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, root, step};

/// The crates published to the registry, in dependency order. Every other
/// workspace member is `publish = false`.
pub(crate) const PUBLISHED: &[&str] = &[
    "bourn-codec",
    "bourn-server",
    "bourn-server-redb",
    "bourn-server-redis",
    "bourn-client",
];

/// `cargo package` of every published crate, each verified by building it
/// from its packaged sources alone: once with its default features (a missing
/// feature of a dependency, hidden in the workspace by feature unification,
/// fails here) and once with all of them. Unpublished workspace crates they
/// depend on are staged in cargo's temporary local registry, as
/// `cargo publish --workspace` does.
pub(crate) fn package() -> Result<()> {
    forget_staged_sources()?;
    for features in [None, Some("--all-features")] {
        let mut args = vec!["package", "--locked", "--allow-dirty"];
        for name in PUBLISHED {
            args.extend(["-p", name]);
        }
        args.extend(features);
        let label = match features {
            None => "package (default features)",
            Some(_) => "package (all features)",
        };
        step(label, cargo(&args))?;
    }
    check_no_private_dependencies()
}

/// Removes the sources cargo extracted from its temporary local registry in
/// earlier runs (`$CARGO_HOME/registry/src/-<hash>/<crate>-<version>`): cargo
/// extracts a staged crate once per version and reuses the directory, so a
/// verify build would compile a dependent against an earlier run's sources of
/// the same version (found when bourn-client's verify build met a bourn-codec
/// without `MessageEvent`). Local registries are the `-` prefixed folders;
/// crates.io's never are.
fn forget_staged_sources() -> Result<()> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let src = home.join("registry").join("src");
    let Ok(registries) = std::fs::read_dir(&src) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for entry in std::fs::read_dir(registry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = PUBLISHED.iter().any(|crate_name| {
                name.strip_prefix(crate_name)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
            });
            if ours {
                std::fs::remove_dir_all(entry.path())
                    .with_context(|| format!("removing {}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

/// No published crate may depend (normally or for building) on an unpublished
/// workspace crate: `bourn-testkit` and `bourn-conformance` are for tests.
fn check_no_private_dependencies() -> Result<()> {
    let metadata = metadata()?;
    let packages = packages_by_id(&metadata);
    for package in packages.values() {
        let name = package["name"].as_str().unwrap_or_default();
        if !PUBLISHED.contains(&name) {
            continue;
        }
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let dependency_name = dependency["name"].as_str().unwrap_or_default();
            let is_dev = dependency["kind"].as_str() == Some("dev");
            if dependency_name.starts_with("bourn-")
                && !PUBLISHED.contains(&dependency_name)
                && (!is_dev || dependency["req"].as_str() != Some("*"))
            {
                bail!(
                    "{name} depends on the unpublished {dependency_name} ({}): published crates \
                     may only use it as a path-only dev-dependency",
                    dependency["req"]
                );
            }
        }
    }
    Ok(())
}

/// The MSRV check that works without a second toolchain (none can be
/// installed here): every crate that the published crates build with (normal
/// and build dependencies, all features) declares a `rust-version` no newer
/// than the workspace's. Clippy's `incompatible_msrv` lint checks our own
/// code's use of std against the same number.
pub(crate) fn msrv() -> Result<()> {
    println!(
        "\n==> msrv: dependencies of {} against rust-version",
        PUBLISHED.join(", ")
    );
    let metadata = metadata()?;
    let packages = packages_by_id(&metadata);
    let ours = packages
        .values()
        .find(|package| package["name"] == PUBLISHED[0])
        .and_then(|package| package["rust_version"].as_str())
        .context("bourn-codec has no rust-version")?;
    let ours = version(ours);
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|node| Some((node["id"].as_str()?, node)))
        .collect();
    let mut queue: VecDeque<&str> = packages
        .iter()
        .filter(|(_, package)| PUBLISHED.contains(&package["name"].as_str().unwrap_or_default()))
        .map(|(id, _)| *id)
        .collect();
    let mut seen = BTreeSet::new();
    let mut too_new = Vec::new();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        let package = packages.get(id).context("a resolved package is missing")?;
        if let Some(theirs) = package["rust_version"].as_str() {
            if version(theirs) > ours {
                too_new.push(format!(
                    "{} {} needs {theirs}",
                    package["name"], package["version"]
                ));
            }
        }
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal_or_build = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|kind| kind["kind"].is_null() || kind["kind"] == "build");
            if normal_or_build {
                if let Some(dep_id) = dep["pkg"].as_str() {
                    queue.push_back(dep_id);
                }
            }
        }
    }
    if !too_new.is_empty() {
        bail!(
            "dependencies of the published crates need a newer Rust than rust-version {}: {}",
            ours.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("."),
            too_new.join(", ")
        );
    }
    println!("==> msrv: ok ({} crates checked)", seen.len());
    Ok(())
}

/// `cargo doc` as docs.rs runs it: `--cfg docsrs` and every feature. docs.rs
/// uses nightly; with no nightly here, `RUSTC_BOOTSTRAP=1` lets the stable
/// toolchain accept the same `#![feature(doc_cfg)]`, so an attribute that
/// current compilers reject (like the removed `doc_auto_cfg`) fails CI.
pub(crate) fn docs_rs() -> Result<()> {
    for name in PUBLISHED {
        let mut docs = cargo(&["doc", "--no-deps", "--locked", "--all-features", "-p", name]);
        docs.env("RUSTDOCFLAGS", "--cfg docsrs -D warnings")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", crate::target_dir().join("docsrs"));
        step(&format!("docs.rs build of {name}"), docs)?;
    }
    Ok(())
}

fn metadata() -> Result<Value> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--all-features",
        ])
        .current_dir(root())
        .output()
        .context("could not run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("cargo metadata printed invalid JSON")
}

fn packages_by_id(metadata: &Value) -> HashMap<&str, &Value> {
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|package| Some((package["id"].as_str()?, package)))
        .collect()
}

/// `1.85` or `1.85.0` as comparable numbers.
fn version(text: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = text
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    parts.resize(3, 0);
    parts
}

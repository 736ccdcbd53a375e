//! `cargo xtask conformance-peers`: the conformance suite against
//! implementations we did not write, through the adapter protocol
//! (conformance/PROTOCOL.md): npm `eventsource-parser` (parser mode), npm
//! `eventsource` (client mode), pip `httpx-sse` (parser mode), and our own
//! crates (`bourn-adapter`, both modes) as the control. The npm and pip
//! packages are installed at the pinned versions of
//! `conformance/adapters/*/{package-lock.json,requirements.txt}` into
//! `target/conformance-peers/`, once (a stamp remembers what was installed).
//! Each run is compared with the implementation's `expected-failures.json`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{cargo, root, step, target_dir};

/// One run of the suite against one implementation in one mode.
struct Run {
    /// The adapter folder under `conformance/adapters/`.
    adapter: &'static str,
    mode: &'static str,
}

const RUNS: &[Run] = &[
    Run {
        adapter: "bourn",
        mode: "parser",
    },
    Run {
        adapter: "bourn",
        mode: "client",
    },
    Run {
        adapter: "node-eventsource-parser",
        mode: "parser",
    },
    Run {
        adapter: "node-eventsource",
        mode: "client",
    },
    Run {
        adapter: "python-httpx-sse",
        mode: "parser",
    },
];

pub(crate) fn run(args: &[&str]) -> Result<()> {
    let mut reports = target_dir().join("conformance-peers").join("reports");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--reports" => {
                let dir = PathBuf::from(args.next().context("--reports needs a folder")?);
                // The runner works from the workspace root: make it absolute first.
                reports = std::path::absolute(&dir)
                    .with_context(|| format!("--reports {}", dir.display()))?;
            }
            other => bail!("conformance-peers: unknown argument `{other}` (--reports DIR)"),
        }
    }
    step(
        "conformance adapters (build)",
        cargo(&[
            "build",
            "--quiet",
            "--locked",
            "-p",
            "bourn-conformance",
            "--features",
            "adapters",
            "--bins",
        ]),
    )?;
    let bin = target_dir().join("debug");
    let peers = target_dir().join("conformance-peers");
    fs::create_dir_all(&reports).with_context(|| format!("creating {}", reports.display()))?;

    let started = Instant::now();
    let mut failed = Vec::new();
    for run in RUNS {
        let source = root()
            .join("conformance")
            .join("adapters")
            .join(run.adapter);
        let mut runner = Command::new(bin.join("conformance-adapter"));
        runner.current_dir(root());
        let name = format!("{}-{}", run.adapter, run.mode);
        // Cases wait on reconnections (3 s for `eventsource`, whose initial
        // reconnection time cannot be set): run more at once.
        runner.args([run.mode, "--jobs", "8"]);
        runner.args([
            "--expect",
            &source.join("expected-failures.json").to_string_lossy(),
            "--json",
            &reports.join(format!("{name}.json")).to_string_lossy(),
            "--junit",
            &reports.join(format!("{name}.xml")).to_string_lossy(),
            "--",
        ]);
        match run.adapter {
            "bourn" => {
                runner.arg(bin.join("bourn-adapter"));
            }
            "python-httpx-sse" => {
                let site = install_pip(&source, &peers.join(run.adapter))?;
                runner.env("PYTHONPATH", site).arg("python3");
                runner.arg(source.join("adapter.py"));
            }
            node => {
                let installed = install_npm(&source, &peers.join(node))?;
                runner.arg("node").arg(installed.join("adapter.mjs"));
            }
        }
        if let Err(error) = step(&format!("conformance: {name}"), runner) {
            failed.push(format!("{name}: {error}"));
        }
    }
    println!(
        "\n==> conformance-peers: {} runs in {:.0} s; reports in {}",
        RUNS.len(),
        started.elapsed().as_secs_f64(),
        reports.display()
    );
    if !failed.is_empty() {
        bail!(
            "conformance-peers: runs that differ from their expected-failures file:\n  {}",
            failed.join("\n  ")
        );
    }
    Ok(())
}

/// `npm ci` of the adapter's lockfile into `dest` (skipped when `dest`
/// already holds that lockfile's install); the adapter script is copied
/// beside its `node_modules`. Returns `dest`.
fn install_npm(source: &Path, dest: &Path) -> Result<PathBuf> {
    need("node", &["--version"], "Node.js 20 or later")?;
    need("npm", &["--version"], "npm (it comes with Node.js)")?;
    let lock = fs::read(source.join("package-lock.json"))
        .with_context(|| format!("{}: no package-lock.json", source.display()))?;
    let stamp = dest.join(".installed-lock.json");
    if fs::read(&stamp).ok().as_deref() != Some(lock.as_slice())
        || !dest.join("node_modules").is_dir()
    {
        fs::create_dir_all(dest)?;
        for file in ["package.json", "package-lock.json"] {
            fs::copy(source.join(file), dest.join(file))
                .with_context(|| format!("copying {file} to {}", dest.display()))?;
        }
        println!("xtask: npm ci in {}", dest.display());
        let status = Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(dest)
            .status()
            .context("running npm")?;
        if !status.success() {
            bail!(
                "`npm ci` in {} failed ({status}): the peer conformance runs install the \
                 pinned packages of {} from the npm registry; check that it is reachable \
                 (proxy settings, `npm config get registry`) and run the task again",
                dest.display(),
                source.join("package-lock.json").display()
            );
        }
        fs::write(&stamp, &lock)?;
    }
    fs::copy(source.join("adapter.mjs"), dest.join("adapter.mjs"))
        .with_context(|| format!("copying adapter.mjs to {}", dest.display()))?;
    Ok(dest.to_path_buf())
}

/// `pip install --no-deps --target` of the adapter's exact pins into
/// `dest/site` (skipped when it already holds them). Returns the site folder.
fn install_pip(source: &Path, dest: &Path) -> Result<PathBuf> {
    need("python3", &["--version"], "Python 3.8 or later")?;
    let pins = fs::read(source.join("requirements.txt"))
        .with_context(|| format!("{}: no requirements.txt", source.display()))?;
    let site = dest.join("site");
    let stamp = dest.join(".installed-requirements.txt");
    if fs::read(&stamp).ok().as_deref() != Some(pins.as_slice()) || !site.is_dir() {
        if site.exists() {
            fs::remove_dir_all(&site)?;
        }
        fs::create_dir_all(dest)?;
        println!("xtask: pip install into {}", site.display());
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-deps", "--no-compile", "--target"])
            .arg(&site)
            .arg("-r")
            .arg(source.join("requirements.txt"))
            .status()
            .context("running python3 -m pip")?;
        if !status.success() {
            bail!(
                "`pip install` into {} failed ({status}): the peer conformance runs install \
                 the pinned packages of {} from PyPI; check that it is reachable (proxy \
                 settings, `pip config list`) and that `python3 -m pip` works, then run the \
                 task again",
                site.display(),
                source.join("requirements.txt").display()
            );
        }
        fs::write(&stamp, &pins)?;
    }
    Ok(site)
}

/// Fails with what to install when `program` does not run.
fn need(program: &str, args: &[&str], what: &str) -> Result<()> {
    let ran = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match ran {
        Ok(status) if status.success() => Ok(()),
        _ => bail!(
            "`{program}` is missing: the peer conformance runs need {what} \
             (install it, or put it on PATH, and run the task again)"
        ),
    }
}

//! `cargo xtask api-check`: the public API of each published crate, checked
//! against its recorded listing (the semver baseline) and against a list of
//! the other crates whose types it may show.
//!
//! Neither `cargo semver-checks` nor `cargo check-external-types` is used:
//! the first needs a registry release or a second build of the workspace at
//! a git revision on every run, the second a pinned nightly. Both read
//! rustdoc's JSON, which the stable toolchain writes with
//! `RUSTC_BOOTSTRAP=1`; this task reads it too and writes one sorted line
//! per public item, method, field, variant and impl into
//! `xtask/api/<crate>.txt`. A change to that text is a change to the API:
//! review it, then accept it with `cargo xtask api-check --bless`.
//!
//! The rendering is a listing, not Rust: enough to see every name, every
//! signature and every foreign type, in a stable order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, root, target_dir};

/// The rustdoc JSON format this reader was written against.
const FORMAT_VERSION: u64 = 57;

/// The crates whose types every crate may show: the standard library.
const STD: &[&str] = &["core", "alloc", "std"];

/// A published crate and the other crates whose types its API may show.
struct Published {
    package: &'static str,
    /// Crate names (as in `use`), each part of the API by design.
    foreign: &'static [&'static str],
}

const PUBLISHED: &[Published] = &[
    Published {
        package: "bourn-codec",
        // Listed in the crate docs ("Types from other crates"). `serde`'s
        // `Serialize` is defined in `serde_core` (which `serde` re-exports).
        foreign: &[
            "bytes",
            "bytestring",
            "futures_core",
            "tokio_util",
            "serde_core",
        ],
    },
    Published {
        package: "bourn-server",
        // The codec's types (re-exported) and the `http` / `http-body` /
        // axum-core types its bodies, responses and extractors speak; with
        // `relay`, the bourn-client request a relay sends.
        foreign: &[
            "bourn_codec",
            "bourn_client",
            "bytes",
            "bytestring",
            "futures_core",
            "http",
            "http_body",
            "axum_core",
        ],
    },
    Published {
        package: "bourn-server-redb",
        // Implements `bourn_server::backend::Backend`.
        foreign: &["bourn_server"],
    },
    Published {
        package: "bourn-server-redis",
        // Implements `bourn_server::backend::Backend`.
        foreign: &["bourn_server"],
    },
    Published {
        package: "bourn-client",
        // The codec's events, the `http` request types of its hook, and the
        // hyper-util client and http-body-util body a caller may supply.
        foreign: &[
            "bourn_codec",
            "bytes",
            "futures_core",
            "http",
            "http_body_util",
            "hyper_util",
            "serde_core",
        ],
    },
];

/// Checks every published crate; with `bless`, records the listings instead.
pub fn check(args: &[&str]) -> Result<()> {
    let bless = match args {
        [] => false,
        ["--bless"] => true,
        other => bail!("api-check takes no argument but `--bless`, got {other:?}"),
    };
    let root = root();
    let mut failures = Vec::new();
    for published in PUBLISHED {
        let krate = rustdoc_json(published.package)?;
        let api = Api::read(&krate)
            .with_context(|| format!("reading the rustdoc JSON of {}", published.package))?;
        let listing = api.listing();

        let allowed: BTreeSet<&str> = STD.iter().chain(published.foreign).copied().collect();
        let mut unlisted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (krate, item) in &api.foreign {
            if !allowed.contains(krate.as_str()) {
                unlisted.entry(krate).or_default().insert(item);
            }
        }
        let used: BTreeSet<&str> = api
            .foreign
            .iter()
            .map(|(krate, _)| krate.as_str())
            .collect();
        let stale: Vec<&str> = published
            .foreign
            .iter()
            .copied()
            .filter(|krate| !used.contains(krate))
            .collect();
        if !stale.is_empty() {
            failures.push(format!(
                "{}: no public type comes from {} any more: remove {} from its list in \
                 xtask/src/api.rs (and from the crate docs' list of foreign types)",
                published.package,
                stale.join(", "),
                if stale.len() == 1 { "it" } else { "them" },
            ));
        }
        for (krate, items) in &unlisted {
            failures.push(format!(
                "{}: a type of `{krate}` is in the public API, which does not list that crate:\n  {}\n\
                 If it is meant to be, add `{krate}` to its list in xtask/src/api.rs (and to \
                 the crate docs' list of foreign types); else keep it out of public signatures.",
                published.package,
                items.iter().copied().collect::<Vec<_>>().join("\n  ")
            ));
        }

        let path = root
            .join("xtask/api")
            .join(format!("{}.txt", published.package));
        if bless {
            fs::create_dir_all(path.parent().context("xtask/api")?)?;
            fs::write(&path, &listing).with_context(|| format!("writing {}", path.display()))?;
            println!(
                "recorded {} ({} lines)",
                path.display(),
                listing.lines().count()
            );
            continue;
        }
        let recorded = fs::read_to_string(&path).unwrap_or_default();
        if recorded != listing {
            failures.push(format!(
                "{}: the public API differs from the recorded one ({}):\n{}\n\
                 If the change is intended (and the version says so), record it with \
                 `cargo xtask api-check --bless` and commit {}.",
                published.package,
                path.display(),
                diff(&recorded, &listing),
                path.strip_prefix(&root).unwrap_or(&path).display(),
            ));
        } else {
            println!(
                "{}: API as recorded ({} lines)",
                published.package,
                listing.lines().count()
            );
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    bail!("api-check:\n\n{}", failures.join("\n\n"))
}

/// Lines only in `old` (`-`) and only in `new` (`+`); both are sorted.
fn diff(old: &str, new: &str) -> String {
    let old: BTreeSet<&str> = old.lines().collect();
    let new: BTreeSet<&str> = new.lines().collect();
    let mut out = String::new();
    for line in old.difference(&new) {
        let _ = writeln!(out, "  - {line}");
    }
    for line in new.difference(&old) {
        let _ = writeln!(out, "  + {line}");
    }
    out
}

/// Runs rustdoc with JSON output on `package` (all features) and parses it.
fn rustdoc_json(package: &str) -> Result<Value> {
    let target = target_dir();
    let mut command = cargo(&[
        "rustdoc",
        "--quiet",
        "--locked",
        "--lib",
        "--all-features",
        "-p",
        package,
        "--",
        "-Z",
        "unstable-options",
        "--output-format",
        "json",
    ]);
    // The stable toolchain writes rustdoc JSON when told it may use
    // unstable options. The JSON goes beside the HTML docs
    // (`target/doc/<crate>.json`), which it does not touch.
    command.env("RUSTC_BOOTSTRAP", "1");
    let status = command.status().context("running cargo rustdoc")?;
    if !status.success() {
        bail!("cargo rustdoc -p {package} failed");
    }
    let file: PathBuf = target
        .join("doc")
        .join(format!("{}.json", package.replace('-', "_")));
    let text = fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let json: Value = serde_json::from_str(&text)?;
    let version = json["format_version"].as_u64().unwrap_or(0);
    if version != FORMAT_VERSION {
        bail!(
            "rustdoc JSON format {version}; xtask/src/api.rs reads format {FORMAT_VERSION}: \
             check its rendering against the new format, then update FORMAT_VERSION (and \
             re-record the listings if only the rendering changed)"
        );
    }
    Ok(json)
}

/// The crate's JSON, and what rendering it found.
struct Api<'a> {
    krate: &'a Value,
    lines: BTreeSet<String>,
    /// (crate, item that shows one of its types).
    foreign: BTreeSet<(String, String)>,
}

impl<'a> Api<'a> {
    fn read(krate: &'a Value) -> Result<Api<'a>> {
        let mut api = Api {
            krate,
            lines: BTreeSet::new(),
            foreign: BTreeSet::new(),
        };
        let root = id_of(&krate["root"]).context("no root")?;
        let name = api.item(&root)["name"]
            .as_str()
            .unwrap_or("crate")
            .to_owned();
        api.module(&root, &name, &mut BTreeSet::new());
        Ok(api)
    }

    fn listing(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    fn item(&self, id: &str) -> &'a Value {
        &self.krate["index"][id]
    }

    /// The items of a public module, under `path`.
    fn module(&mut self, id: &str, path: &str, seen: &mut BTreeSet<String>) {
        if !seen.insert(id.to_owned()) {
            return;
        }
        let items: Vec<String> = self.item(id)["inner"]["module"]["items"]
            .as_array()
            .map(|items| items.iter().filter_map(id_of).collect())
            .unwrap_or_default();
        for child in items {
            let item = self.item(&child);
            if item.is_null() {
                continue;
            }
            if let Some(use_) = item["inner"].get("use") {
                self.reexport(use_, path, seen);
                continue;
            }
            let name = item["name"].as_str().unwrap_or("_");
            self.named(&child, &format!("{path}::{name}"), seen);
        }
    }

    /// `pub use`: a local item under a new path, or a foreign one named.
    fn reexport(&mut self, use_: &Value, path: &str, seen: &mut BTreeSet<String>) {
        let name = use_["name"].as_str().unwrap_or("_");
        let target = id_of(&use_["id"]);
        let local = target
            .as_deref()
            .map(|id| self.item(id))
            .filter(|item| !item.is_null() && item["crate_id"].as_u64() == Some(0));
        match (local, target.clone()) {
            (Some(item), Some(id)) if use_["is_glob"].as_bool() == Some(true) => {
                if item["inner"].get("module").is_some() {
                    self.module(&id, path, seen);
                }
            }
            (Some(_), Some(id)) => self.named(&id, &format!("{path}::{name}"), seen),
            _ => {
                let source = use_["source"].as_str().unwrap_or("?");
                self.lines
                    .insert(format!("{path}::{name}: pub use {source}"));
                let krate = target
                    .as_deref()
                    .and_then(|id| self.krate["paths"][id]["crate_id"].as_u64())
                    .and_then(|krate| self.crate_name(krate))
                    .unwrap_or_else(|| source.split("::").next().unwrap_or("?").to_owned());
                self.foreign.insert((krate, format!("{path}::{name}")));
            }
        }
    }

    /// One named item at `path`, with its members.
    fn named(&mut self, id: &str, path: &str, seen: &mut BTreeSet<String>) {
        let item = self.item(id);
        let inner = &item["inner"];
        let Some((kind, body)) = inner.as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        match kind.as_str() {
            "module" => self.module(id, path, seen),
            "function" => {
                let sig = self.function(body, path);
                self.lines.insert(format!("{path}: fn{sig}"));
            }
            "struct" => {
                let generics = self.generics(&body["generics"], path);
                self.lines
                    .insert(format!("{path}: struct{generics}{}", attrs(item)));
                match body["kind"].as_object().and_then(|o| o.iter().next()) {
                    Some((shape, fields)) if shape == "plain" => {
                        if fields["has_stripped_fields"].as_bool() == Some(true) {
                            self.lines.insert(format!("{path}: (private fields)"));
                        }
                        self.fields(&fields["fields"], path);
                    }
                    Some((shape, fields)) if shape == "tuple" => {
                        let shown = fields
                            .as_array()
                            .map(|f| f.iter().filter(|f| !f.is_null()).count())
                            .unwrap_or(0);
                        self.lines
                            .insert(format!("{path}: tuple struct, {shown} public fields"));
                        self.fields(fields, path);
                    }
                    _ => {}
                }
                self.impls(&body["impls"], path);
            }
            "enum" => {
                let generics = self.generics(&body["generics"], path);
                self.lines
                    .insert(format!("{path}: enum{generics}{}", attrs(item)));
                for variant in body["variants"].as_array().into_iter().flatten() {
                    let Some(variant) = id_of(variant) else {
                        continue;
                    };
                    self.variant(&variant, path);
                }
                self.impls(&body["impls"], path);
            }
            "trait" => {
                let generics = self.generics(&body["generics"], path);
                let bounds = self.bounds(&body["bounds"], path);
                let bounds = if bounds.is_empty() {
                    String::new()
                } else {
                    format!(": {bounds}")
                };
                self.lines
                    .insert(format!("{path}: trait{generics}{bounds}"));
                for member in body["items"].as_array().into_iter().flatten() {
                    let Some(member) = id_of(member) else {
                        continue;
                    };
                    self.member(&member, path, "");
                }
                for implementation in body["implementations"].as_array().into_iter().flatten() {
                    let Some(implementation) = id_of(implementation) else {
                        continue;
                    };
                    self.implementation(&implementation, path);
                }
            }
            "constant" => {
                let ty = self.ty(&body["type"], path);
                let value = body["const"]["expr"].as_str().unwrap_or("_");
                self.lines.insert(format!("{path}: const {ty} = {value}"));
            }
            "static" => {
                let ty = self.ty(&body["type"], path);
                self.lines.insert(format!("{path}: static {ty}"));
            }
            "type_alias" => {
                let ty = self.ty(&body["type"], path);
                self.lines.insert(format!("{path}: type = {ty}"));
            }
            "macro" | "proc_macro" => {
                self.lines.insert(format!("{path}: macro"));
            }
            other => {
                self.lines.insert(format!("{path}: {other}"));
            }
        }
    }

    fn variant(&mut self, id: &str, path: &str) {
        let item = self.item(id);
        let name = item["name"].as_str().unwrap_or("_");
        let path = format!("{path}::{name}");
        let kind = &item["inner"]["variant"]["kind"];
        match kind.as_object().and_then(|o| o.iter().next()) {
            Some((shape, fields)) if shape == "tuple" => {
                let types: Vec<String> = fields
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|field| match id_of(field) {
                        Some(field) => {
                            let ty = &self.item(&field)["inner"]["struct_field"];
                            self.ty(ty, &path)
                        }
                        None => "_".to_owned(),
                    })
                    .collect();
                self.lines
                    .insert(format!("{path}: variant({})", types.join(", ")));
            }
            Some((shape, fields)) if shape == "struct" => {
                self.lines.insert(format!("{path}: variant {{ .. }}"));
                self.fields(&fields["fields"], &path);
            }
            _ => {
                self.lines.insert(format!("{path}: variant"));
            }
        }
    }

    fn fields(&mut self, fields: &Value, path: &str) {
        for (n, field) in fields.as_array().into_iter().flatten().enumerate() {
            let Some(field) = id_of(field) else { continue };
            let item = self.item(&field);
            let name = item["name"]
                .as_str()
                .map_or_else(|| n.to_string(), str::to_owned);
            let ty = self.ty(&item["inner"]["struct_field"], path);
            self.lines.insert(format!("{path}.{name}: {ty}"));
        }
    }

    /// The impls of a type: inherent ones with their methods, trait ones
    /// as headers with their associated types. Auto-trait and blanket
    /// impls are the compiler's, not the crate's.
    fn impls(&mut self, impls: &Value, path: &str) {
        for implementation in impls.as_array().into_iter().flatten() {
            let Some(implementation) = id_of(implementation) else {
                continue;
            };
            self.implementation(&implementation, path);
        }
    }

    fn implementation(&mut self, id: &str, path: &str) {
        let body = &self.item(id)["inner"]["impl"];
        if body["is_synthetic"].as_bool() == Some(true) || !body["blanket_impl"].is_null() {
            return;
        }
        // `derive(PartialEq)` adds it; it is the compiler's, not an API.
        if body["trait"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("StructuralPartialEq"))
        {
            return;
        }
        let foreign_before = self.foreign.clone();
        let generics = self.generics(&body["generics"], path);
        let for_ = self.ty(&body["for"], path);
        let where_ = self.where_clause(&body["generics"], path);
        if where_.contains("__Origin") {
            // pin-project-lite's `Unpin` impl: bounded on a hidden struct
            // of the pinned fields. Its meaning, not its spelling.
            self.foreign = foreign_before;
            self.lines.insert(format!(
                "{path}: impl Unpin for {for_} where its pinned fields are Unpin"
            ));
            return;
        }
        let negative = if body["is_negative"].as_bool() == Some(true) {
            "!"
        } else {
            ""
        };
        let header = match body.get("trait").filter(|t| !t.is_null()) {
            Some(trait_) => {
                let trait_ = self.path(trait_, path);
                format!("impl{generics} {negative}{trait_} for {for_}{where_}")
            }
            None => format!("impl{generics} {for_}{where_}"),
        };
        let trait_impl = body.get("trait").is_some_and(|t| !t.is_null());
        self.lines.insert(format!("{path}: {header}"));
        for member in body["items"].as_array().into_iter().flatten() {
            let Some(member) = id_of(member) else {
                continue;
            };
            let item = self.item(&member);
            let public = item["visibility"].as_str() == Some("public");
            let is_type = item["inner"].get("assoc_type").is_some();
            if public || (trait_impl && is_type) {
                self.member(&member, path, &header);
            }
        }
    }

    /// A method, associated constant or associated type of a trait or impl.
    fn member(&mut self, id: &str, path: &str, header: &str) {
        let item = self.item(id);
        let name = item["name"].as_str().unwrap_or("_");
        let context = if header.is_empty() {
            String::new()
        } else {
            format!(" [{header}]")
        };
        let Some((kind, body)) = item["inner"].as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        let at = format!("{path}::{name}");
        let line = match kind.as_str() {
            "function" => {
                let sig = self.function(body, &at);
                format!("{at}: fn{sig}{}{context}", attrs(item))
            }
            "assoc_type" => {
                let bounds = self.bounds(&body["bounds"], &at);
                let value = body
                    .get("type")
                    .filter(|t| !t.is_null())
                    .map(|t| format!(" = {}", self.ty(t, &at)))
                    .unwrap_or_default();
                let bounds = if bounds.is_empty() {
                    String::new()
                } else {
                    format!(": {bounds}")
                };
                format!("{at}: type{bounds}{value}{context}")
            }
            "assoc_const" => {
                let ty = self.ty(&body["type"], &at);
                format!("{at}: const {ty}{context}")
            }
            other => format!("{at}: {other}{context}"),
        };
        self.lines.insert(line);
    }

    fn function(&mut self, body: &Value, at: &str) -> String {
        let header = &body["header"];
        let mut qualifiers = String::new();
        for (flag, word) in [
            ("is_const", "const "),
            ("is_async", "async "),
            ("is_unsafe", "unsafe "),
        ] {
            if header[flag].as_bool() == Some(true) {
                qualifiers.push_str(word);
            }
        }
        let generics = self.generics(&body["generics"], at);
        let inputs: Vec<String> = body["sig"]["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|input| {
                let name = input[0].as_str().unwrap_or("_");
                let ty = self.ty(&input[1], at);
                match (name, ty.as_str()) {
                    ("self", "Self") => "self".to_owned(),
                    ("self", "&Self") => "&self".to_owned(),
                    ("self", "&mut Self") => "&mut self".to_owned(),
                    _ => format!("{name}: {ty}"),
                }
            })
            .collect();
        let output = match &body["sig"]["output"] {
            Value::Null => String::new(),
            ty => format!(" -> {}", self.ty(ty, at)),
        };
        let where_ = self.where_clause(&body["generics"], at);
        let qualifiers = if qualifiers.is_empty() {
            String::new()
        } else {
            format!(" ({})", qualifiers.trim_end())
        };
        format!(
            "{generics}({}){output}{where_}{qualifiers}",
            inputs.join(", ")
        )
    }

    /// `<T: Bound, 'a>`, without the `impl Trait` parameters rustdoc adds.
    fn generics(&mut self, generics: &Value, at: &str) -> String {
        let mut params = Vec::new();
        for param in generics["params"].as_array().into_iter().flatten() {
            let name = param["name"].as_str().unwrap_or("_");
            let kind = &param["kind"];
            if let Some(ty) = kind.get("type") {
                if ty["is_synthetic"].as_bool() == Some(true) {
                    continue;
                }
                let bounds = self.bounds(&ty["bounds"], at);
                params.push(if bounds.is_empty() {
                    name.to_owned()
                } else {
                    format!("{name}: {bounds}")
                });
            } else if kind.get("const").is_some() {
                let ty = self.ty(&kind["const"]["type"], at);
                params.push(format!("const {name}: {ty}"));
            } else {
                params.push(name.to_owned());
            }
        }
        if params.is_empty() {
            String::new()
        } else {
            format!("<{}>", params.join(", "))
        }
    }

    fn where_clause(&mut self, generics: &Value, at: &str) -> String {
        let mut predicates = Vec::new();
        for predicate in generics["where_predicates"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(bound) = predicate.get("bound_predicate") {
                let ty = self.ty(&bound["type"], at);
                let bounds = self.bounds(&bound["bounds"], at);
                predicates.push(format!("{ty}: {bounds}"));
            } else if let Some(eq) = predicate.get("eq_predicate") {
                let lhs = self.ty(&eq["lhs"], at);
                let rhs = match eq["rhs"].get("type") {
                    Some(ty) => self.ty(ty, at),
                    None => "_".to_owned(),
                };
                predicates.push(format!("{lhs} = {rhs}"));
            } else if let Some(lifetime) = predicate.get("lifetime_predicate") {
                let name = lifetime["lifetime"].as_str().unwrap_or("'_");
                predicates.push(format!("{name}: ..."));
            }
        }
        if predicates.is_empty() {
            String::new()
        } else {
            format!(" where {}", predicates.join(", "))
        }
    }

    fn bounds(&mut self, bounds: &Value, at: &str) -> String {
        let mut out = Vec::new();
        for bound in bounds.as_array().into_iter().flatten() {
            if let Some(trait_bound) = bound.get("trait_bound") {
                let modifier = match trait_bound["modifier"].as_str() {
                    Some("maybe") => "?",
                    _ => "",
                };
                out.push(format!(
                    "{modifier}{}",
                    self.path(&trait_bound["trait"], at)
                ));
            } else if let Some(lifetime) = bound.get("outlives") {
                out.push(lifetime.as_str().unwrap_or("'_").to_owned());
            } else {
                out.push("use<..>".to_owned());
            }
        }
        out.join(" + ")
    }

    /// A path with its generic arguments; notes the crate it comes from.
    fn path(&mut self, path: &Value, at: &str) -> String {
        let id = id_of(&path["id"]);
        let mut name = path["path"].as_str().unwrap_or("?").to_owned();
        if let Some(id) = id {
            let entry = &self.krate["paths"][id.as_str()];
            let krate = entry["crate_id"]
                .as_u64()
                .filter(|&k| k != 0)
                .and_then(|k| self.crate_name(k));
            if let Some(krate) = krate {
                // A foreign item is written `crate::Name`: its crate shows,
                // and moving it between that crate's modules does not.
                let last = entry["path"]
                    .as_array()
                    .and_then(|full| full.last())
                    .and_then(Value::as_str);
                if let Some(last) = last.filter(|_| !STD.contains(&krate.as_str())) {
                    name = format!("{krate}::{last}");
                }
                self.foreign.insert((krate, at.to_owned()));
            } else if let Some(last) = name.rsplit("::").next() {
                // A local item by its name (rustdoc writes the path as
                // spelled in the source: `crate::error::Error`).
                name = last.to_owned();
            }
        }
        let args = &path["args"];
        if let Some(angle) = args.get("angle_bracketed") {
            let mut parts = Vec::new();
            for arg in angle["args"].as_array().into_iter().flatten() {
                if let Some(ty) = arg.get("type") {
                    parts.push(self.ty(ty, at));
                } else if let Some(lifetime) = arg.get("lifetime") {
                    parts.push(lifetime.as_str().unwrap_or("'_").to_owned());
                } else {
                    parts.push("_".to_owned());
                }
            }
            for constraint in angle["constraints"].as_array().into_iter().flatten() {
                let name = constraint["name"].as_str().unwrap_or("_");
                let binding = &constraint["binding"];
                if let Some(ty) = binding.get("equality").and_then(|e| e.get("type")) {
                    parts.push(format!("{name} = {}", self.ty(ty, at)));
                } else if let Some(bounds) = binding.get("constraint") {
                    parts.push(format!("{name}: {}", self.bounds(bounds, at)));
                }
            }
            if !parts.is_empty() {
                name = format!("{name}<{}>", parts.join(", "));
            }
        } else if let Some(paren) = args.get("parenthesized") {
            let inputs: Vec<String> = paren["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|ty| self.ty(ty, at))
                .collect();
            let output = match &paren["output"] {
                Value::Null => String::new(),
                ty => format!(" -> {}", self.ty(ty, at)),
            };
            name = format!("{name}({}){output}", inputs.join(", "));
        }
        name
    }

    fn ty(&mut self, ty: &Value, at: &str) -> String {
        let Some((kind, body)) = ty.as_object().and_then(|o| o.iter().next()) else {
            return match ty.as_str() {
                Some("infer") => "_".to_owned(),
                _ => "?".to_owned(),
            };
        };
        match kind.as_str() {
            "resolved_path" => self.path(body, at),
            "generic" | "primitive" => body.as_str().unwrap_or("?").to_owned(),
            "borrowed_ref" => {
                let lifetime = body["lifetime"]
                    .as_str()
                    .map(|l| format!("{l} "))
                    .unwrap_or_default();
                let mutable = if body["is_mutable"].as_bool() == Some(true) {
                    "mut "
                } else {
                    ""
                };
                format!("&{lifetime}{mutable}{}", self.ty(&body["type"], at))
            }
            "raw_pointer" => {
                let mutable = if body["is_mutable"].as_bool() == Some(true) {
                    "mut"
                } else {
                    "const"
                };
                format!("*{mutable} {}", self.ty(&body["type"], at))
            }
            "slice" => format!("[{}]", self.ty(body, at)),
            "array" => format!(
                "[{}; {}]",
                self.ty(&body["type"], at),
                body["len"].as_str().unwrap_or("_")
            ),
            "tuple" => {
                let parts: Vec<String> = body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|ty| self.ty(ty, at))
                    .collect();
                format!("({})", parts.join(", "))
            }
            "impl_trait" => format!("impl {}", self.bounds(body, at)),
            "dyn_trait" => {
                let mut parts: Vec<String> = body["traits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|poly| self.path(&poly["trait"], at))
                    .collect();
                if let Some(lifetime) = body["lifetime"].as_str() {
                    parts.push(lifetime.to_owned());
                }
                format!("dyn {}", parts.join(" + "))
            }
            "qualified_path" => {
                let name = body["name"].as_str().unwrap_or("_");
                let self_type = self.ty(&body["self_type"], at);
                match body.get("trait").filter(|t| !t.is_null()) {
                    Some(trait_) => {
                        let trait_ = self.path(trait_, at);
                        format!("<{self_type} as {trait_}>::{name}")
                    }
                    None => format!("{self_type}::{name}"),
                }
            }
            "function_pointer" => {
                let sig = &body["sig"];
                let inputs: Vec<String> = sig["inputs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|input| self.ty(&input[1], at))
                    .collect();
                let output = match &sig["output"] {
                    Value::Null => String::new(),
                    ty => format!(" -> {}", self.ty(ty, at)),
                };
                format!("fn({}){output}", inputs.join(", "))
            }
            other => format!("<{other}>"),
        }
    }

    fn crate_name(&self, krate: u64) -> Option<String> {
        self.krate["external_crates"][krate.to_string()]["name"]
            .as_str()
            .map(str::to_owned)
    }
}

/// `#[must_use]` and `#[non_exhaustive]`: both are part of the contract.
fn attrs(item: &Value) -> String {
    let mut out = String::new();
    for attr in item["attrs"].as_array().into_iter().flatten() {
        let text = attr.to_string();
        if text.contains("must_use") {
            out.push_str(" #[must_use]");
        } else if text.contains("non_exhaustive") {
            out.push_str(" #[non_exhaustive]");
        }
    }
    out
}

/// An id, written as a number (or a string in older formats).
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_removed_and_added_lines() {
        let old = "a: fn()\nb: fn()\n";
        let new = "b: fn()\nc: fn(x: u8)\n";
        assert_eq!(diff(old, new), "  - a: fn()\n  + c: fn(x: u8)\n");
        assert_eq!(diff(old, old), "");
    }

    #[test]
    fn a_foreign_type_in_a_signature_is_noted() {
        let krate = serde_json::json!({
            "root": 0,
            "index": {
                "0": {"name": "demo", "crate_id": 0, "inner": {"module": {"items": [1]}}},
                "1": {"name": "f", "crate_id": 0, "visibility": "public", "attrs": [], "inner": {"function": {
                    "header": {},
                    "generics": {"params": [], "where_predicates": []},
                    "sig": {"inputs": [["x", {"resolved_path": {"path": "Bytes", "id": 7, "args": null}}]],
                            "output": {"primitive": "usize"}}
                }}}
            },
            "paths": {"7": {"crate_id": 3, "path": ["bytes", "bytes", "Bytes"], "kind": "struct"}},
            "external_crates": {"3": {"name": "bytes"}}
        });
        let api = Api::read(&krate).unwrap();
        assert_eq!(api.listing(), "demo::f: fn(x: bytes::Bytes) -> usize\n");
        assert!(
            api.foreign
                .contains(&("bytes".to_owned(), "demo::f".to_owned()))
        );
    }
}

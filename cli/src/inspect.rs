//! `wasplug inspect`: what a module is (its manifest), imports, exports and
//! records, without running it.

use crate::{explain, json::Layout, term, text::escape};
use clap::Args;
use serde::Serialize;
use std::{
    fmt::{self, Write as _},
    path::PathBuf,
    process::ExitCode,
};
use wasmi::{ExternType, ImportType, Module, ValType};
use wasplug_hdk::{Manifest, ManifestSource, read_manifest};
use wasplug_protocol::{
    PROTOCOL_VERSION, VERSION_SECTION, check_compatible, decode_version_section,
};

/// `wasplug inspect`.
#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// Print a JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// The module: a .wasm file, or WebAssembly text (.wat).
    module: PathBuf,
}

/// What the sandbox makes of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ImportStatus {
    /// A WASI function the subset implements.
    Supported,
    /// A WASI function the subset links but answers with an errno
    /// (`ENOSYS`, `EBADF`, `ENOTCAPABLE`...).
    Errno,
    /// Not provided (or a WASI function with the wrong signature): a module
    /// importing it is refused.
    Refused,
}

impl ImportStatus {
    /// Classifies an import as the sandbox does (`wasplug_wasi::ImportStatus`).
    pub(crate) fn of(import: &ImportType<'_>) -> Self {
        match wasplug_wasi::ImportStatus::of(import) {
            wasplug_wasi::ImportStatus::Supported => ImportStatus::Supported,
            wasplug_wasi::ImportStatus::Errno => ImportStatus::Errno,
            _ => ImportStatus::Refused,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ImportStatus::Supported => "supported",
            ImportStatus::Errno => "linked, answers an errno",
            ImportStatus::Refused => "refused: not provided by the sandbox",
        }
    }
}

#[derive(Serialize)]
struct Report {
    file: String,
    size: u64,
    /// The protocol version the module records: its manifest's, else the
    /// one in its `wasplug_protocol` section.
    protocol_version: Option<u32>,
    /// Why the `wasplug_protocol` section could not be read, or the version
    /// is incompatible.
    protocol_problem: Option<String>,
    /// The manifest as the host kit reads it (made up from the file name
    /// when the module records none); `null` when it is malformed.
    manifest: Option<Manifest>,
    /// Where it came from: [`ManifestSource::kind`] (`section`, `sidecar`,
    /// `legacy` (made up from the `wasplug_protocol` section) or `none`).
    manifest_source: Option<&'static str>,
    /// The sidecar file it was read from.
    manifest_file: Option<String>,
    /// Why it could not be read.
    manifest_problem: Option<String>,
    imports: Vec<Import>,
    exports: Vec<Export>,
    memories: Vec<Memory>,
    custom_sections: Vec<CustomSection>,
    /// Whether the sandbox runs it: it passes the module check of
    /// `wasplug_wasi::Program` and exports `memory`.
    runnable: bool,
    /// Why it does not run, when it does not.
    problem: Option<String>,
}

#[derive(Serialize)]
struct Import {
    module: String,
    name: String,
    kind: &'static str,
    #[serde(rename = "type")]
    ty: String,
    status: ImportStatus,
}

#[derive(Serialize)]
struct Export {
    name: String,
    kind: &'static str,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Serialize)]
struct Memory {
    /// `module::name` when imported, the export name when exported.
    name: String,
    imported: bool,
    initial_pages: u64,
    max_pages: Option<u64>,
    memory64: bool,
}

#[derive(Serialize)]
struct CustomSection {
    name: String,
    /// Bytes of data.
    size: u64,
}

fn kind(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "func",
        ExternType::Memory(_) => "memory",
        ExternType::Table(_) => "table",
        ExternType::Global(_) => "global",
    }
}

fn val_types(types: &[ValType]) -> String {
    let names: Vec<String> = types
        .iter()
        .map(|t| format!("{t:?}").to_lowercase())
        .collect();
    names.join(", ")
}

/// A type, briefly: `(i32, i32) -> i32`, `17 pages, max 256`...
fn describe_type(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => match f.results() {
            [] => format!("({})", val_types(f.params())),
            results => format!("({}) -> {}", val_types(f.params()), val_types(results)),
        },
        ExternType::Memory(m) => pages(m.minimum(), m.maximum()),
        ExternType::Table(t) => match t.maximum() {
            Some(max) => format!("{} elements, max {max}", t.minimum()),
            None => format!("{} elements", t.minimum()),
        },
        ExternType::Global(g) => format!("{:?}", g.content()).to_lowercase(),
    }
}

/// `17 pages (1088 KiB)`.
fn pages(initial: u64, max: Option<u64>) -> String {
    let size = |pages: u64| {
        let unit = if pages == 1 { "page" } else { "pages" };
        format!("{pages} {unit} ({} KiB)", pages.saturating_mul(64))
    };
    match max {
        Some(max) => format!("{}, max {}", size(initial), size(max)),
        None => format!("{}, no maximum", size(initial)),
    }
}

fn memory(name: String, imported: bool, ty: &ExternType) -> Option<Memory> {
    let ExternType::Memory(m) = ty else {
        return None;
    };
    Some(Memory {
        name,
        imported,
        initial_pages: m.minimum(),
        max_pages: m.maximum(),
        memory64: m.is_64(),
    })
}

fn report(path: &std::path::Path) -> anyhow::Result<Report> {
    let bytes = explain::read_plugin(path)?;
    let engine = wasmi::Engine::default();
    let module = Module::new(&engine, &bytes).map_err(|e| {
        anyhow::anyhow!(explain::invalid_module(
            &path.display().to_string(),
            &bytes,
            &e.to_string()
        ))
    })?;
    let imports: Vec<Import> = module
        .imports()
        .map(|i| Import {
            module: i.module().to_owned(),
            name: i.name().to_owned(),
            kind: kind(i.ty()),
            ty: describe_type(i.ty()),
            status: ImportStatus::of(&i),
        })
        .collect();
    let exports: Vec<Export> = module
        .exports()
        .map(|e| Export {
            name: e.name().to_owned(),
            kind: kind(e.ty()),
            ty: describe_type(e.ty()),
        })
        .collect();
    let memories = module
        .imports()
        .filter_map(|i| memory(format!("{}::{}", i.module(), i.name()), true, i.ty()))
        .chain(
            module
                .exports()
                .filter_map(|e| memory(e.name().to_owned(), false, e.ty())),
        )
        .collect();
    let custom_sections = module
        .custom_sections()
        .map(|s| CustomSection {
            name: s.name().to_owned(),
            size: u64::try_from(s.data().len()).unwrap_or(u64::MAX),
        })
        .collect();
    let (legacy_version, legacy_problem) = match module
        .custom_sections()
        .find(|s| s.name() == VERSION_SECTION)
    {
        None => (None, None),
        Some(section) => match decode_version_section(section.data()) {
            Ok(version) => (
                Some(version),
                check_compatible(version).err().map(|e| e.to_string()),
            ),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    // The manifest, read as the host kit reads it when it loads the plugin.
    let stem = path
        .file_stem()
        .map_or_else(|| "plugin".to_owned(), |s| s.to_string_lossy().into_owned());
    let sections = module.custom_sections().map(|s| (s.name(), s.data()));
    let (manifest, manifest_source, manifest_file, manifest_problem) =
        match read_manifest(sections, Some(path), &stem) {
            Ok((manifest, source)) => {
                let file = match &source {
                    ManifestSource::Sidecar(file) => Some(file.display().to_string()),
                    _ => None,
                };
                (Some(manifest), Some(source.kind()), file, None)
            }
            Err(e) => (None, None, None, Some(e.to_string())),
        };
    let recorded = manifest
        .as_ref()
        .filter(|_| manifest_source != Some("none"))
        .map(|m| m.protocol);
    let protocol_version = recorded.or(legacy_version);
    let protocol_problem = legacy_problem.or_else(|| {
        recorded.and_then(|version| check_compatible(version).err().map(|e| e.to_string()))
    });
    // The sandbox's own module check, the one `run` and the host kit apply.
    let problem = wasplug_wasi::Program::new(&engine, &bytes)
        .err()
        .map(|e| e.to_string())
        .or_else(|| {
            (!matches!(module.get_export("memory"), Some(ExternType::Memory(_))))
                .then(|| "it exports no linear memory named `memory`".to_owned())
        });
    let runnable = problem.is_none();
    Ok(Report {
        file: path.display().to_string(),
        size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        protocol_version,
        protocol_problem,
        manifest,
        manifest_source,
        manifest_file,
        manifest_problem,
        imports,
        exports,
        memories,
        custom_sections,
        runnable,
        problem,
    })
}

/// Characters `text` takes on screen once escaped, for aligning columns.
fn width(text: &str) -> usize {
    escape(text).chars().count()
}

/// The report as text. Every name in it comes from the module, so each is
/// made safe for the terminal ([`escape`]).
fn text(report: &Report) -> Result<String, fmt::Error> {
    let mut out = String::new();
    writeln!(
        out,
        "file:     {} ({} bytes)",
        escape(&report.file),
        report.size
    )?;
    match (report.protocol_version, &report.protocol_problem) {
        (Some(v), None) => writeln!(
            out,
            "protocol: wasplug protocol {v} (this host speaks {PROTOCOL_VERSION})"
        )?,
        (Some(v), Some(problem)) => {
            writeln!(out, "protocol: wasplug protocol {v}: {}", escape(problem))?
        }
        (None, Some(problem)) => writeln!(
            out,
            "protocol: unreadable `{VERSION_SECTION}` section: {}",
            escape(problem)
        )?,
        (None, None) => writeln!(
            out,
            "protocol: not recorded (no `{VERSION_SECTION}` section)"
        )?,
    }
    manifest_text(&mut out, report)?;
    if report.memories.is_empty() {
        writeln!(out, "memory:   none exported or imported")?;
    }
    for m in &report.memories {
        let how = if m.imported { "imported" } else { "exported" };
        writeln!(
            out,
            "memory:   `{}` ({how}): {}",
            escape(&m.name),
            pages(m.initial_pages, m.max_pages)
        )?;
    }
    let column = report
        .imports
        .iter()
        .map(|i| width(&i.module) + width(&i.name) + 2)
        .max()
        .unwrap_or(0);
    writeln!(out, "imports ({}):", report.imports.len())?;
    for i in &report.imports {
        let name = format!("{}::{}", escape(&i.module), escape(&i.name));
        writeln!(
            out,
            "  {name:<column$}  {:<6}  {}",
            i.kind,
            i.status.describe()
        )?;
    }
    let column = report
        .exports
        .iter()
        .map(|e| width(&e.name))
        .max()
        .unwrap_or(0);
    writeln!(out, "exports ({}):", report.exports.len())?;
    for e in &report.exports {
        let name = escape(&e.name);
        writeln!(out, "  {name:<column$}  {:<6}  {}", e.kind, e.ty)?;
    }
    let column = report
        .custom_sections
        .iter()
        .map(|s| width(&s.name))
        .max()
        .unwrap_or(0);
    writeln!(out, "custom sections ({}):", report.custom_sections.len())?;
    for s in &report.custom_sections {
        let name = escape(&s.name);
        let unit = if s.size == 1 { "byte" } else { "bytes" };
        writeln!(out, "  {name:<column$}  {} {unit}", s.size)?;
    }
    let verdict = match (report.runnable, report.protocol_version.is_some()) {
        (true, _) if report.manifest_problem.is_some() => {
            "not loadable as a plugin: its manifest is malformed (`wasplug run` runs it)"
        }
        (true, true) => "a wasplug plugin: `wasplug call` and `wasplug methods` run it",
        (true, false) => "a WASI command: `wasplug run` runs it; no protocol version recorded",
        (false, _) => "not runnable in the sandbox",
    };
    writeln!(out, "verdict:  {verdict}")?;
    if let Some(problem) = &report.problem {
        writeln!(out, "          {}", escape(problem))?;
    }
    Ok(out)
}

/// The manifest block of the text report.
fn manifest_text(out: &mut String, report: &Report) -> fmt::Result {
    if let Some(problem) = &report.manifest_problem {
        return writeln!(out, "manifest: unreadable: {}", escape(problem));
    }
    let Some(manifest) = &report.manifest else {
        return Ok(());
    };
    let source = match (report.manifest_source, &report.manifest_file) {
        (Some("sidecar"), Some(file)) => format!("from sidecar file {}", escape(file)),
        (Some("legacy"), _) => {
            format!("none recorded; made up from the file name and the `{VERSION_SECTION}` section")
        }
        (Some("none"), _) => "none recorded (no custom section, no sidecar .json or .toml); \
                              made up from the file name"
            .to_owned(),
        (Some("builder"), _) => "given by the host".to_owned(),
        _ => "from the `wasplug_manifest` custom section".to_owned(),
    };
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items
                .iter()
                .map(|i| escape(i))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    writeln!(out, "manifest: {source}")?;
    writeln!(out, "  name:         {}", escape(&manifest.name))?;
    let version = if manifest.version.is_empty() {
        "(none)".into()
    } else {
        escape(&manifest.version)
    };
    writeln!(out, "  version:      {version}")?;
    writeln!(out, "  protocol:     {}", manifest.protocol)?;
    if let Some(description) = &manifest.description {
        writeln!(out, "  description:  {}", escape(description))?;
    }
    writeln!(out, "  methods:      {}", list(&manifest.methods))?;
    writeln!(
        out,
        "  capabilities: {} (host methods it asks for)",
        list(&manifest.capabilities)
    )
}

/// `wasplug inspect`.
pub(crate) fn inspect(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let report = report(&args.module)?;
    if args.json {
        // Written indented through the JSON printer, which also escapes the
        // characters serde_json leaves raw (DEL, C1 controls, bidi overrides).
        term::print_json(&serde_json::to_string(&report)?, Layout::Indented)?;
    } else {
        term::print(&text(&report)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

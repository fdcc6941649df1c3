//! JSON passes through the CLI as written: numbers of any size and
//! precision, and lines of any size without a tree in memory.

use super::support::{MIRROR, temp_file, wasplug};

/// Numbers an `f64` (or `serde_json::Value`) cannot hold, and some it can
/// but would write differently.
const NUMBERS: &str = "[18446744073709551617,-18446744073709551617,-1e400,1.5E+308,0.1000,-0,\
                       123456789012345678901234567890.123456789e-999,{\"big\":1e1000,\"n\":[2E-2]}]";

#[test]
fn numbers_of_any_size_come_back_exactly() {
    let (_dir, plugin) = temp_file("mirror.wat", MIRROR);
    wasplug()
        .arg("call")
        .arg(&plugin)
        .args(["echo", NUMBERS])
        .assert()
        .success()
        .stdout(format!("{NUMBERS}\n"));
    // A scalar is wrapped, as written.
    wasplug()
        .arg("call")
        .arg(&plugin)
        .args(["echo", "-1e400"])
        .assert()
        .success()
        .stdout("[-1e400]\n");
}

#[test]
fn params_from_stdin_come_back_exactly_and_compacted() {
    let (_dir, plugin) = temp_file("mirror.wat", MIRROR);
    let spaced = NUMBERS.replace(',', " ,\n\t").replace('[', "[ ");
    wasplug()
        .arg("call")
        .arg(&plugin)
        .args(["echo", "-"])
        .write_stdin(spaced)
        .assert()
        .success()
        .stdout(format!("{NUMBERS}\n"));
}

#[test]
fn pretty_output_keeps_the_numbers() {
    let (_dir, plugin) = temp_file("mirror.wat", MIRROR);
    let output = wasplug()
        .args(["call", "--pretty"])
        .arg(&plugin)
        .args(["echo", NUMBERS])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("[\n  18446744073709551617,\n  -18446744073709551617,\n  -1e400,\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  {\n    \"big\": 1e1000,\n    \"n\": [\n      2E-2\n    ]\n  }\n]\n"),
        "{text}"
    );
    // No string in NUMBERS holds a space: removing the layout gives it back.
    assert_eq!(text.replace(['\n', ' '], ""), NUMBERS);
}

#[test]
fn params_that_are_not_json_are_refused_before_the_plugin_runs() {
    let (_dir, plugin) = temp_file("mirror.wat", MIRROR);
    for bad in ["[1,", "01", "NaN", "[1] 2", "-"] {
        wasplug()
            .arg("call")
            .arg(&plugin)
            .args(["echo", bad])
            .write_stdin("[Infinity]")
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicates::str::contains("PARAMS is not valid JSON"));
    }
}

/// A line of about 8 MB, `[0,0,…]`, goes CLI → plugin → host `echo` → plugin
/// → CLI. Through `serde_json::Value` trees the process peaked at 310 MiB
/// (180 MiB with a tree in the host `echo` only); passed through as text, at
/// 60 MiB (debug builds). The bound, 128 MiB, leaves twice that.
#[cfg(target_os = "linux")]
#[test]
fn a_huge_line_passes_through_in_bounded_memory() {
    use nix::sys::resource::{UsageWho, getrusage};

    const ZEROS: usize = 4_000_000;
    const LIMIT_KIB: i64 = 128 << 10;
    let line = format!("[{}0]", "0,".repeat(ZEROS - 1));
    let (_dir, plugin) = temp_file("mirror.wat", MIRROR);
    let output = wasplug()
        .args(["call", "--timeout", "600"])
        .arg(&plugin)
        .args(["echo", "-"])
        .write_stdin(line.clone())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{:?}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.len() == line.len() + 1 && output.stdout.starts_with(line.as_bytes()));
    // The largest peak of all the children this test process waited for so
    // far: an upper bound on this one's.
    let peak_kib = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss();
    assert!(
        peak_kib < LIMIT_KIB,
        "a child of the test process peaked at {} MiB (limit {} MiB)",
        peak_kib >> 10,
        LIMIT_KIB >> 10
    );
}

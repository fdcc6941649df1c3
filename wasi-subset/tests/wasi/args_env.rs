//! `args_get`, `args_sizes_get`, `environ_get`, `environ_sizes_get`.

use crate::harness::{Guest, PAGE, e};
use wasplug_wasi::{Errno, WasiCtx};

const SENTINEL: u8 = 0xAA;

fn with_args() -> Guest {
    // "" and a multibyte string: sizes count bytes, and empty strings still get a NUL.
    let mut g = Guest::new(
        WasiCtx::builder()
            .arg("prog")
            .args(["a b", "", "héllo"])
            .build(),
    );
    g.fill(SENTINEL);
    g
}

fn with_env() -> Guest {
    let mut g = Guest::new(
        WasiCtx::builder()
            .env("A", "1")
            .env("EMPTY", "")
            .env("PATH", "/x=y")
            .build(),
    );
    g.fill(SENTINEL);
    g
}

/// Checks the pointer table at `table` and the strings at `buf` for `list`,
/// and that the bytes right after both are untouched.
fn assert_strings(g: &Guest, table: u32, buf: u32, list: &[&str]) {
    let mut cursor = buf;
    for (i, s) in (0u32..).zip(list) {
        assert_eq!(g.u32_at(table + 4 * i), cursor, "pointer {i}");
        let mut expected = s.as_bytes().to_vec();
        expected.push(0);
        assert_eq!(g.read(cursor, expected.len()), expected, "string {i}");
        cursor += expected.len() as u32;
    }
    let table_end = table + 4 * list.len() as u32;
    assert_eq!(g.read(table_end, 4), [SENTINEL; 4], "after the table");
    assert_eq!(g.u8_at(cursor), SENTINEL, "after the strings");
    assert_eq!(g.u8_at(buf - 1), SENTINEL, "before the strings");
}

fn assert_untouched(g: &Guest) {
    assert!(g.mem().iter().all(|&b| b == SENTINEL), "memory was written");
}

#[test]
fn args_sizes_get() {
    let mut g = with_args();
    assert_eq!(g.call("args_sizes_get", &[0x10, 0x20]), 0);
    assert_eq!(g.u32_at(0x10), 4);
    // "prog\0" + "a b\0" + "\0" + "héllo\0" (é is two bytes)
    assert_eq!(g.u32_at(0x20), 5 + 4 + 1 + 7);
    assert_eq!(g.read(0x14, 4), [SENTINEL; 4]);

    // The last aligned word of memory is fine.
    assert_eq!(g.call("args_sizes_get", &[i64::from(PAGE - 4), 0]), 0);
    assert_eq!(g.u32_at(PAGE - 4), 4);

    let mut g = with_args();
    let bad = [
        ([i64::from(PAGE), 0x20], Errno::Fault),
        ([0x10, i64::from(PAGE)], Errno::Fault),
        ([0xFFFF_FFFC, 0x20], Errno::Fault),
        ([0x10, 0xFFFF_FFFC], Errno::Fault),
        ([0x11, 0x20], Errno::Inval),
        ([0x10, 0x22], Errno::Inval),
        ([0xFFFF_FFFF, 0x20], Errno::Inval),
    ];
    for (args, errno) in bad {
        // A failure may have written the first of the two words: check the
        // errno, and that nothing was written when the first pointer is bad.
        let mut g2 = with_args();
        assert_eq!(g2.call("args_sizes_get", &args), e(errno), "{args:?}");
        if args[0] != 0x10 {
            assert_untouched(&g2);
        }
    }
    // No arguments at all.
    let mut g0 = Guest::default_ctx();
    g0.fill(SENTINEL);
    assert_eq!(g0.call("args_sizes_get", &[0, 4]), 0);
    assert_eq!((g0.u32_at(0), g0.u32_at(4)), (0, 0));
    assert_eq!(g.call("args_sizes_get", &[8, 8]), 0, "same pointer twice");
    assert_eq!(g.u32_at(8), 17, "the size is written last");
}

#[test]
fn args_get() {
    let list = ["prog", "a b", "", "héllo"];
    let mut g = with_args();
    assert_eq!(g.call("args_get", &[0x100, 0x200]), 0);
    assert_strings(&g, 0x100, 0x200, &list);

    // The string buffer needs no alignment.
    let mut g = with_args();
    assert_eq!(g.call("args_get", &[0x100, 0x203]), 0);
    assert_strings(&g, 0x100, 0x203, &list);

    // Exactly at the end of memory: 16 bytes of table, 17 of strings.
    let mut g = with_args();
    assert_eq!(
        g.call(
            "args_get",
            &[i64::from(PAGE - 16), i64::from(PAGE - 17 - 16)]
        ),
        0
    );
    assert_eq!(g.read(PAGE - 33, 17), b"prog\0a b\0\0h\xc3\xa9llo\0");

    // Misaligned pointer table: EINVAL, nothing written.
    for argv in [0x101, 0x102, 0x103, 0xFFFF_FFFF] {
        let mut g = with_args();
        assert_eq!(
            g.call("args_get", &[argv, 0x200]),
            e(Errno::Inval),
            "{argv:#x}"
        );
        assert_untouched(&g);
    }
    // Table out of bounds: EFAULT, nothing written.
    for argv in [i64::from(PAGE - 12), i64::from(PAGE), 0xFFFF_FFFC] {
        let mut g = with_args();
        assert_eq!(
            g.call("args_get", &[argv, 0x200]),
            e(Errno::Fault),
            "{argv:#x}"
        );
        assert_untouched(&g);
    }
    // Strings out of bounds: EFAULT.
    for buf in [i64::from(PAGE - 16), i64::from(PAGE), 0xFFFF_FFFF] {
        let mut g = with_args();
        assert_eq!(
            g.call("args_get", &[0x100, buf]),
            e(Errno::Fault),
            "{buf:#x}"
        );
    }

    // No arguments: nothing to write, anywhere in bounds.
    let mut g = Guest::default_ctx();
    g.fill(SENTINEL);
    assert_eq!(g.call("args_get", &[0, 0]), 0);
    assert_eq!(g.call("args_get", &[i64::from(PAGE), i64::from(PAGE)]), 0);
    assert_untouched(&g);
    assert_eq!(g.call("args_get", &[2, 0]), e(Errno::Inval));
}

#[test]
fn environ_sizes_get() {
    let mut g = with_env();
    assert_eq!(g.call("environ_sizes_get", &[0x10, 0x20]), 0);
    assert_eq!(g.u32_at(0x10), 3);
    // "A=1\0" + "EMPTY=\0" + "PATH=/x=y\0"
    assert_eq!(g.u32_at(0x20), 4 + 7 + 10);

    let bad = [
        ([i64::from(PAGE), 0x20], Errno::Fault),
        ([0x10, i64::from(PAGE - 2)], Errno::Inval),
        ([0x10, i64::from(PAGE)], Errno::Fault),
        ([0xFFFF_FFFC, 0x20], Errno::Fault),
        ([0x13, 0x20], Errno::Inval),
    ];
    for (args, errno) in bad {
        let mut g = with_env();
        assert_eq!(g.call("environ_sizes_get", &args), e(errno), "{args:?}");
        if args[0] != 0x10 {
            assert_untouched(&g);
        }
    }

    let mut g = Guest::default_ctx();
    g.fill(SENTINEL);
    assert_eq!(g.call("environ_sizes_get", &[0, 4]), 0);
    assert_eq!((g.u32_at(0), g.u32_at(4)), (0, 0));
}

#[test]
fn environ_get() {
    let list = ["A=1", "EMPTY=", "PATH=/x=y"];
    let mut g = with_env();
    assert_eq!(g.call("environ_get", &[0x100, 0x200]), 0);
    assert_strings(&g, 0x100, 0x200, &list);

    let mut g = with_env();
    assert_eq!(g.call("environ_get", &[0x400, 0x101]), 0);
    assert_strings(&g, 0x400, 0x101, &list);

    for (env, buf, errno) in [
        (0x102, 0x200, Errno::Inval),
        (0x1, 0x200, Errno::Inval),
        (i64::from(PAGE - 8), 0x200, Errno::Fault),
        (0xFFFF_FFF8, 0x200, Errno::Fault),
    ] {
        let mut g = with_env();
        assert_eq!(g.call("environ_get", &[env, buf]), e(errno), "{env:#x}");
        assert_untouched(&g);
    }
    for buf in [i64::from(PAGE - 20), 0xFFFF_FFF0] {
        let mut g = with_env();
        assert_eq!(g.call("environ_get", &[0x100, buf]), e(Errno::Fault));
    }

    let mut g = Guest::default_ctx();
    g.fill(SENTINEL);
    assert_eq!(g.call("environ_get", &[0x100, 0x200]), 0);
    assert_untouched(&g);
}

//! A plugin whose start-up is heavy: it builds a table of 16 Ki hashes
//! (~20 ms in an optimized host; `WARM_ROUNDS` sets the rounds of mixing
//! per entry, default [`ROUNDS`]), and, when `WARM_FILL_MIB` is set, fills
//! that many MiB of memory. With a warm start the host does it once, when
//! it loads the plugin; without one, every call does it at start.

use std::sync::{LazyLock, Mutex};
use wasplug_pdk::{Plugin, manifest};

/// Entries in the table.
const ENTRIES: u32 = 16 * 1024;
/// Rounds of mixing per entry by default: sets the init's cost.
const ROUNDS: u32 = 80;

/// The table: entry `i` is `i` mixed `WARM_ROUNDS` times.
static TABLE: LazyLock<Vec<u32>> = LazyLock::new(|| {
    let rounds = var("WARM_ROUNDS").unwrap_or(ROUNDS);
    (0..ENTRIES).map(|i| mix(i, rounds)).collect()
});

/// `WARM_FILL_MIB` MiB of varied bytes (none without the variable): word
/// `i` is `i * FILL_FACTOR`, little-endian.
static FILL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let words: u64 = var::<u64>("WARM_FILL_MIB")
        .unwrap_or(0)
        .saturating_mul(1 << 17);
    (0..words)
        .flat_map(|i| i.wrapping_mul(FILL_FACTOR).to_le_bytes())
        .collect()
});

/// What the fill's words are multiples of.
const FILL_FACTOR: u64 = 0x9e37_79b9_7f4a_7c15;

fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.parse().ok()
}

/// State a call may change: each call must find it as the init left it.
static COUNTER: Mutex<u64> = Mutex::new(0);
static SCRATCH: Mutex<Vec<u32>> = Mutex::new(Vec::new());

wasplug_pdk::init!(|| {
    LazyLock::force(&TABLE);
    LazyLock::force(&FILL);
    eprintln!("warm-table: table built");
});

fn mix(i: u32, rounds: u32) -> u32 {
    let mut x = i.wrapping_mul(0x9e37_79b9) | 1;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x = x.wrapping_add(i);
    }
    x
}

fn main() {
    // The start-up a plugin without warm starts does in every call; with
    // one, the init did it and these find it done.
    LazyLock::force(&TABLE);
    LazyLock::force(&FILL);
    let manifest = manifest! {
        description: "A heavy init, made light by a warm start",
        methods: ["ping", "lookup", "checksum", "bump", "fill_len"],
    };
    Plugin::from_manifest(manifest)
        .method("ping", |()| async { Ok("pong") })
        // The table's entry `i`.
        .method(
            "lookup",
            |i: usize| async move { Ok(TABLE.get(i).copied()) },
        )
        // The wrapping sum of the table.
        .method("checksum", |()| async {
            Ok(TABLE.iter().fold(0u32, |sum, x| sum.wrapping_add(*x)))
        })
        // Changes a static and the heap; answers what it saw
        // before: the same on every call when no call sees another's writes.
        .method("bump", |()| async {
            let mut counter = COUNTER
                .lock()
                .map_err(|_| wasplug_pdk::Error::new(-32000, "poisoned"))?;
            let mut scratch = SCRATCH
                .lock()
                .map_err(|_| wasplug_pdk::Error::new(-32000, "poisoned"))?;
            let before = (*counter, scratch.len(), TABLE.first().copied());
            *counter += 1;
            scratch.push(7);
            Ok(before)
        })
        // The size of the filled memory, and a byte of it.
        .method("fill_len", |()| async {
            Ok((FILL.len(), FILL.get(12_345).copied()))
        })
        .run();
}

//! A sleeping plugin costs the host no CPU: its own test binary, so that no
//! other test's work counts in this process's CPU time.

use serde_json::json;
use std::time::Duration;
use wasplug_tests::host::test_plugin;

/// CPU time (user + system) this process has used, from `/proc/self/stat`.
fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Linux reports in USER_HZ, which is 100 on every architecture it supports.
    Duration::from_millis(ticks * 10)
}

#[test]
#[cfg(target_os = "linux")]
fn a_plugin_sleeping_500_ms_burns_under_50_ms_of_host_cpu() {
    let plugin = test_plugin();
    // Warm up: the first call pays for lazy set-up we do not want to count.
    futures::executor::block_on(plugin.call("ping", json!(null))).unwrap();
    let before = process_cpu_time();
    let started = std::time::Instant::now();
    let slept = futures::executor::block_on(plugin.call("sleep", json!([500]))).unwrap();
    let wall = started.elapsed();
    let cpu = process_cpu_time() - before;
    assert_eq!(slept, json!(500));
    assert!(wall >= Duration::from_millis(500), "{wall:?}");
    assert!(
        cpu < Duration::from_millis(50),
        "the host burned {cpu:?} of CPU while the plugin slept"
    );
}

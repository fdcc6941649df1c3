//! The bindings' API, called from Rust: what every foreign language calls
//! through the generated code.
#![allow(clippy::result_large_err)] // the bindings' error, by value as UniFFI passes it

use std::{
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};
use wasplug_ffi::{
    CancelToken, ErrorKind, HostError, HostHandler, Limits, LoadOptions, LogHandler, Plugin,
    WasplugError,
};
use wasplug_tests::guests::{TEST_PLUGIN, WARM_TABLE};

/// A hang-catcher for a debug build on a loaded machine.
const HANG: Duration = Duration::from_secs(30);

/// Answers `triple` with three times its one param; `refuse` with an error.
struct Host;

impl HostHandler for Host {
    fn call(&self, plugin: String, method: String, params: String) -> Result<String, HostError> {
        assert_eq!(plugin, "t");
        let params: Vec<i64> = serde_json::from_str(&params).unwrap();
        match method.as_str() {
            "triple" => Ok((params[0] * 3).to_string()),
            _ => Err(HostError::Rpc {
                code: -32042,
                message: "no".into(),
                data_json: Some("{\"x\":1}".into()),
            }),
        }
    }
}

#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl LogHandler for Lines {
    fn log(&self, _plugin: String, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

fn options() -> LoadOptions {
    LoadOptions {
        name: Some("t".into()),
        limits: Limits::default(),
        host_methods: vec!["triple".into(), "refuse".into()],
        host: Some(Arc::new(Host)),
        ..LoadOptions::default()
    }
}

fn failure(result: Result<String, WasplugError>) -> WasplugError {
    result.expect_err("the call should fail")
}

#[test]
fn calls_host_methods_errors_and_logs() {
    let lines = Arc::new(Lines::default());
    let plugin = Plugin::from_file(
        TEST_PLUGIN.into(),
        LoadOptions {
            log: Some(lines.clone()),
            ..options()
        },
    )
    .unwrap();
    let call =
        |method: &str, params: &str| plugin.call_blocking(method.into(), params.into(), None);
    assert_eq!(call("ping", "null").unwrap(), "\"pong\"");
    assert_eq!(call("call_host", r#"["triple", [14]]"#).unwrap(), "42");
    let WasplugError::Failure {
        kind,
        code,
        data_json,
        ..
    } = failure(call("call_host", r#"["refuse", [1]]"#));
    assert_eq!((kind, code), (ErrorKind::Plugin, Some(-32042)));
    assert_eq!(data_json.as_deref(), Some("{\"x\":1}"));
    assert_eq!(call("log", "[2]").unwrap(), "2");
    assert_eq!(*lines.0.lock().unwrap(), ["log line 0", "log line 1"]);
    let WasplugError::Failure {
        kind,
        plugin: name,
        method,
        stderr,
        ..
    } = failure(call("panic", "null"));
    assert_eq!(kind, ErrorKind::Trap);
    assert_eq!(
        (name.as_deref(), method.as_deref()),
        (Some("t"), Some("panic"))
    );
    assert!(stderr.iter().any(|l| l.contains("deliberate panic")));
    assert_eq!(failure(call("ping", "5")).kind(), ErrorKind::InvalidParams);
}

#[test]
fn a_cancel_token_stops_a_spinning_call() {
    let spinner = r#"(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))"#;
    let options = LoadOptions {
        limits: Limits {
            fuel: None,
            timeout_ms: None,
            ..Limits::default()
        },
        ..options()
    };
    let plugin = Plugin::from_bytes(spinner.as_bytes().to_vec(), options).unwrap();
    let token = CancelToken::new();
    let call = thread::spawn({
        let (plugin, token) = (plugin.clone(), token.clone());
        move || plugin.call_blocking("spin".into(), "null".into(), Some(token))
    });
    thread::sleep(Duration::from_millis(200));
    assert!(!call.is_finished(), "the spinner ended by itself");
    let cancelled = Instant::now();
    token.cancel();
    let error = failure(call.join().unwrap());
    assert_eq!(error.kind(), ErrorKind::Cancelled);
    assert!(cancelled.elapsed() < HANG);
}

/// The heavy-init plugin (`tests/guests/rust/warm-table`, its init
/// lightened for a debug build), its stderr lines collected: only its init
/// writes one.
fn warm_table(warm_start: bool, idle_instances: u32) -> (Arc<Plugin>, Arc<Lines>) {
    let lines = Arc::new(Lines::default());
    let options = LoadOptions {
        env: [("WARM_ROUNDS".to_owned(), "2".to_owned())].into(),
        log: Some(lines.clone()),
        warm_start,
        idle_instances,
        ..LoadOptions::default()
    };
    let plugin = Plugin::from_file(WARM_TABLE.into(), options).unwrap();
    (plugin, lines)
}

#[test]
fn a_warm_start_runs_the_init_once_and_no_call_sees_another_calls_writes() {
    for (warm, idle) in [(true, 4), (true, 0), (false, 1)] {
        let (plugin, lines) = warm_table(warm, idle);
        let bump = || plugin.call_blocking("bump".into(), "null".into(), None);
        // What `bump` saw before it changed a static and the heap: the
        // init's state, on every call.
        let first = bump().unwrap();
        assert!(first.starts_with("[0,0,"), "{first}");
        for _ in 0..3 {
            assert_eq!(bump().unwrap(), first, "warm {warm}, idle {idle}");
        }
        let init_lines = ["warm-table: table built"];
        let report = plugin.init_report();
        if warm {
            // Once, at load: no call ran the init again.
            assert_eq!(*lines.0.lock().unwrap(), init_lines);
            let report = report.expect("the init ran");
            assert!(report.fuel_used > 100_000, "{report:?}");
            assert!(report.image_bytes >= 64 << 10, "the table: {report:?}");
            assert!(report.memory_bytes >= report.image_bytes, "{report:?}");
            assert_eq!(report.stderr.trim_end(), init_lines[0]);
        } else {
            assert!(lines.0.lock().unwrap().is_empty(), "the init ran");
            assert_eq!(report, None);
        }
    }
    let plain = Plugin::from_file(TEST_PLUGIN.into(), options()).unwrap();
    assert_eq!(plain.init_report(), None);
}

#[test]
fn a_plugin_file_over_max_module_bytes_is_refused() {
    let capped = || LoadOptions {
        max_module_bytes: 1024,
        ..options()
    };
    let error = Plugin::from_file(TEST_PLUGIN.into(), capped()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ModuleTooLarge);
    // Bytes already in memory are not held to it.
    let bytes = std::fs::read(TEST_PLUGIN).unwrap();
    assert!(Plugin::from_bytes(bytes, capped()).is_ok());
}

#[test]
fn http_allow_grants_http_fetch_to_its_hosts() {
    let fetch = |http_allow: &[&str]| {
        let options = LoadOptions {
            http_allow: http_allow.iter().map(|h| (*h).to_owned()).collect(),
            ..options()
        };
        let plugin = Plugin::from_file(TEST_PLUGIN.into(), options)?;
        // Nothing listens on port 1: a granted fetch fails to connect.
        let params = r#"["http.fetch", {"url": "http://127.0.0.1:1/"}]"#;
        plugin.call_blocking("call_host".into(), params.into(), None)
    };
    let code = |result| match failure(result) {
        WasplugError::Failure {
            kind: ErrorKind::Plugin,
            code,
            ..
        } => code,
        other => panic!("{other:?}"),
    };
    let not_permitted = Some(-32010);
    assert_eq!(code(fetch(&[])), not_permitted);
    assert_eq!(code(fetch(&["example.invalid"])), not_permitted);
    let granted = code(fetch(&["127.0.0.1:1"]));
    assert!(granted.is_some() && granted != not_permitted, "{granted:?}");
    // An entry that is no host is refused, not dropped.
    let error = failure(fetch(&["http://127.0.0.1:1/"]));
    assert_eq!(error.kind(), ErrorKind::InvalidHost);
    assert!(error.to_string().contains("http_allow"), "{error}");
}

#[test]
fn an_init_past_its_limits_fails_the_load() {
    let options = LoadOptions {
        env: [("WARM_ROUNDS".to_owned(), "2".to_owned())].into(),
        limits: Limits {
            fuel: Some(10_000),
            ..Limits::default()
        },
        ..LoadOptions::default()
    };
    let error = Plugin::from_file(WARM_TABLE.into(), options).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InitFailed, "{error}");
    // Without a warm start, the same limits load it (each call would run
    // out of fuel instead).
    let options = LoadOptions {
        limits: Limits {
            fuel: Some(10_000),
            ..Limits::default()
        },
        warm_start: false,
        ..LoadOptions::default()
    };
    let plugin = Plugin::from_file(WARM_TABLE.into(), options).unwrap();
    let error = failure(plugin.call_blocking("ping".into(), "null".into(), None));
    assert_eq!(error.kind(), ErrorKind::OutOfFuel);
}

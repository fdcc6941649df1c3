//! `wasplug serve`: the real binary over loopback, driven by a real HTTP
//! client (ureq).

use super::support::{test_plugin, writing_plugin};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader, Read as _, Write as _},
    net::TcpStream,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};
use tempfile::TempDir;

/// The name the test plugin is served under.
const NAME: &str = "test-plugin";
/// How long a change to the plugin directory may take to show (generous:
/// debug builds, a busy machine).
const RELOAD_WITHIN: Duration = Duration::from_secs(10);
/// A bound on anything that must not hang.
const HANG: Duration = Duration::from_secs(60);

/// A running `wasplug serve`, killed when dropped.
struct Server {
    child: Child,
    address: String,
    stderr: Arc<Mutex<String>>,
    dir: TempDir,
}

impl Server {
    /// Serves a fresh directory holding the test plugin as `test-plugin.wasm`.
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("create the plugin directory");
        std::fs::copy(test_plugin(), dir.path().join(format!("{NAME}.wasm")))
            .expect("copy the test plugin");
        Self::start_in(dir, args)
    }

    /// Serves `dir`, with `args` after it.
    fn start_in(dir: TempDir, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasplug"))
            .arg("serve")
            .arg(dir.path())
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wasplug serve");
        // Keep what it logs, and keep its stderr pipe drained.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let kept = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut line = String::new();
            while pipe.read_line(&mut line).is_ok_and(|n| n > 0) {
                kept.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the first line");
        let Some(address) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.wait();
            panic!(
                "serve did not say where it listens: {line:?}; stderr: {}",
                stderr.lock().unwrap()
            );
        };
        let address = address.to_owned();
        // Nothing more is printed on stdout, but keep the pipe drained.
        thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        Self {
            child,
            address,
            stderr,
            dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// What it logged so far.
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for a line of its stderr that `matches` (it is read on another
    /// thread).
    fn wait_for_log(&self, matches: impl Fn(&str) -> bool) {
        let started = Instant::now();
        while !self.stderr().lines().any(&matches) {
            assert!(started.elapsed() < HANG, "not logged: {}", self.stderr());
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `needle` appears `count` times in its stderr.
    fn wait_for_log_count(&self, needle: &str, count: usize) {
        let started = Instant::now();
        while self.stderr().matches(needle).count() < count {
            assert!(started.elapsed() < HANG, "not logged: {}", self.stderr());
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the process to exit.
    fn terminate(mut self) -> ExitStatus {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("send SIGTERM");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for serve") {
                return status;
            }
            assert!(started.elapsed() < HANG, "serve did not stop after SIGTERM");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that returns every status as a response.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(HANG))
        .build()
        .into()
}

/// POSTs `body` to `url`: the status and the body of the answer.
fn post(agent: &ureq::Agent, url: &str, body: &str) -> (u16, String) {
    let mut response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .expect("POST");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("read the body");
    (status, text)
}

/// POSTs `body` to the plugin `name`, the request written in one piece (so
/// the server has all of it when it refuses it, and closes the connection
/// without a reset): the status of the answer.
fn post_in_one_write(address: &str, name: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(HANG)).unwrap();
    let request = format!(
        "POST /plugins/{name} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let status = answer.split(' ').nth(1).unwrap_or_default();
    status
        .parse()
        .unwrap_or_else(|_| panic!("not an HTTP answer: {answer:?}"))
}

fn get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let mut response = agent.get(url).call().expect("GET");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("read the body");
    (status, text)
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A JSON-RPC request for `method` with id 1 (`params`: JSON text or none).
fn request(method: &str, params: Option<&str>) -> String {
    match params {
        Some(params) => {
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#)
        }
        None => format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}"}}"#),
    }
}

/// A plugin that answers its first request (id 1, which is what the host
/// sends) with `result`, whatever the method.
fn answering(result: &str) -> String {
    writing_plugin(
        b"",
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{result}}}\n").as_bytes(),
    )
}

/// Writes `contents` to `dir/name` the way editors and deploy tools do: to
/// a temporary file, then renamed into place.
fn replace(dir: &Path, name: &str, contents: &[u8]) {
    let temp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, contents).expect("write the new version");
    std::fs::rename(&temp, dir.join(name)).expect("rename it into place");
}

/// Calls `method` until it answers `expected`, for up to `within`; returns
/// how long that took.
fn wait_for_result(
    server: &Server,
    agent: &ureq::Agent,
    method: &str,
    expected: &Value,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = post(
            agent,
            &server.url(&format!("/plugins/{NAME}")),
            &request(method, None),
        );
        assert_eq!(status, 200, "{body}");
        if parse(&body)["result"] == *expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "still {body} after {within:?}; stderr: {}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ping_answers_over_http_with_id_and_numbers_exact() {
    let server = Server::start(&[]);
    let agent = agent();
    let url = server.url(&format!("/plugins/{NAME}"));
    let mut response = agent.post(&url).send(request("ping", None)).expect("POST");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    assert_eq!(
        response.body_mut().read_to_string().unwrap(),
        r#"{"jsonrpc":"2.0","result":"pong","id":1}"#
    );
    // The id comes back byte for byte, and numbers are never rounded.
    let body = r#"{"jsonrpc":"2.0","id":18446744073709551617.50,"method":"echo","params":[1e400,-0,0.1000,123456789012345678901234567890]}"#;
    assert_eq!(
        post(&agent, &url, body),
        (
            200,
            r#"{"jsonrpc":"2.0","result":[1e400,-0,0.1000,123456789012345678901234567890],"id":18446744073709551617.50}"#
                .to_owned()
        )
    );
    let (status, body) = post(
        &agent,
        &url,
        r#"{"jsonrpc":"2.0","id":"a \"b\"","method":"echo","params":{"k":null}}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"jsonrpc":"2.0","result":{"k":null},"id":"a \"b\""}"#
    );
}

#[test]
fn errors_pass_through_and_failures_name_their_kind() {
    // Fuel, unlike time, runs out at the same point on any machine.
    let server = Server::start(&["--fuel", "1000000"]);
    let agent = agent();
    let url = server.url(&format!("/plugins/{NAME}"));
    // The plugin's own error: code, message and data as it wrote them.
    let (status, body) = post(&agent, &url, &request("fail", None));
    assert_eq!(status, 200);
    assert_eq!(
        parse(&body),
        json!({"jsonrpc": "2.0", "id": 1, "error": {
            "code": -32000,
            "message": "deliberate failure",
            "data": {"reason": "the test asked for it", "retry": false},
        }})
    );
    let (status, body) = post(&agent, &url, &request("no_such_method", None));
    assert_eq!(status, 200);
    assert_eq!(parse(&body)["error"]["code"], -32601);
    // A trap (here a panic) and a broken limit: our codes, with their kind.
    let (status, body) = post(&agent, &url, &request("panic", None));
    assert_eq!(status, 200);
    let answer = parse(&body);
    assert_eq!(answer["error"]["code"], -32020, "{body}");
    assert_eq!(answer["error"]["data"], json!({"kind": "Trap"}));
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("deliberate panic"), "{message}");
    let (status, body) = post(&agent, &url, &request("prime_sieve", Some("[10000000]")));
    assert_eq!(status, 200);
    let answer = parse(&body);
    assert_eq!(answer["error"]["code"], -32021, "{body}");
    assert_eq!(answer["error"]["data"], json!({"kind": "OutOfFuel"}));
    assert_eq!(answer["id"], 1);
    // Each failure is logged with the plugin's name.
    server.wait_for_log(|line| line.contains("plugin=test-plugin") && line.contains("OutOfFuel"));
}

#[test]
fn statuses_404_413_400_and_204() {
    let server = Server::start(&["--max-body", "1000", "--log-level", "info"]);
    let agent = agent();
    let url = server.url(&format!("/plugins/{NAME}"));
    let (status, body) = post(
        &agent,
        &server.url("/plugins/nobody"),
        &request("ping", None),
    );
    assert_eq!(status, 404);
    assert_eq!(parse(&body)["error"]["code"], -32601);
    assert_eq!(get(&agent, &server.url("/nowhere")).0, 404);

    let big = request("echo", Some(&format!("[\"{}\"]", "x".repeat(2000))));
    assert_eq!(post_in_one_write(&server.address, NAME, &big), 413);
    let fits = request("echo", Some(&format!("[\"{}\"]", "x".repeat(900))));
    assert_eq!(post(&agent, &url, &fits).0, 200);

    for (body, code) in [
        ("{not json", -32700),
        ("", -32700),
        ("[]", -32600),
        (r#"{"jsonrpc":"2.0","id":1}"#, -32600),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":5}"#,
            -32600,
        ),
        (r#"{"id":1,"method":"ping"}"#, -32600),
    ] {
        let (status, answer) = post(&agent, &url, body);
        assert_eq!(status, 400, "{body}");
        let answer = parse(&answer);
        assert_eq!(answer["error"]["code"], code, "{body}");
        assert!(answer["id"].is_null());
    }

    // A notification runs (its log lines show, with the plugin's name),
    // and gets no body.
    let (status, body) = post(
        &agent,
        &url,
        r#"{"jsonrpc":"2.0","method":"log","params":[2]}"#,
    );
    assert_eq!((status, body.as_str()), (204, ""));
    server.wait_for_log(|line| line.contains("plugin=test-plugin") && line.contains("log line 1"));
}

#[test]
fn a_batch_is_answered_in_order_and_its_requests_run_at_once() {
    let server = Server::start(&["--log-level", "info", "--max-batch", "5"]);
    let agent = agent();
    let url = server.url(&format!("/plugins/{NAME}"));
    let batch = r#"[
        {"jsonrpc":"2.0","id":1,"method":"ping"},
        {"jsonrpc":"2.0","id":"b","method":"echo","params":[1.50e3, 18446744073709551617]},
        {"jsonrpc":"2.0","method":"log","params":[1]},
        5,
        {"jsonrpc":"2.0","id":3,"method":"fail"}
    ]"#;
    let (status, body) = post(&agent, &url, batch);
    assert_eq!(status, 200, "{body}");
    // Numbers come back as written: look at the text, then at the values.
    assert!(
        body.starts_with(
            r#"[{"jsonrpc":"2.0","result":"pong","id":1},{"jsonrpc":"2.0","result":[1.50e3, 18446744073709551617],"id":"b"},"#
        ),
        "{body}"
    );
    let answers = parse(&body);
    let answers = answers.as_array().expect("an array");
    // The notification has no answer; the member that is not a request
    // has one, with a null id.
    assert_eq!(answers.len(), 4, "{body}");
    assert_eq!(answers[2]["error"]["code"], -32600);
    assert!(answers[2]["id"].is_null());
    assert_eq!(answers[3]["error"]["code"], -32000);
    assert_eq!(answers[3]["id"], 3);
    server.wait_for_log(|line| {
        line.contains("plugin=test-plugin")
            && line.contains("batch=5")
            && line.contains("method=\"log\"")
            && line.contains("log line 0")
    });

    // Only notifications: no body.
    let notifications = r#"[{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"ping"}]"#;
    assert_eq!(post(&agent, &url, notifications), (204, String::new()));
    // Over --max-batch: refused whole, nothing runs.
    let before = server.stderr().matches("calling").count();
    let six = format!("[{}]", vec![request("ping", None); 6].join(","));
    let (status, body) = post(&agent, &url, &six);
    assert_eq!(status, 400);
    let refusal = parse(&body);
    assert_eq!(refusal["error"]["code"], -32600);
    assert!(refusal["id"].is_null());
    assert_eq!(server.stderr().matches("calling").count(), before);

    // Both sleeps are running before either answers.
    let sleeps = r#"[{"jsonrpc":"2.0","id":1,"method":"sleep","params":[1000]},{"jsonrpc":"2.0","id":2,"method":"sleep","params":[1000]}]"#;
    let (status, body) = post(&agent, &url, sleeps);
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body).as_array().map(Vec::len), Some(2));
    let log = server.stderr();
    let sleep_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("method=\"sleep\""))
        .collect();
    let first_answer = sleep_lines
        .iter()
        .position(|l| l.contains("answered"))
        .expect("answered");
    let calling_before_an_answer = sleep_lines[..first_answer]
        .iter()
        .filter(|l| l.contains("calling"))
        .count();
    assert_eq!(
        calling_before_an_answer, 2,
        "the batch's requests ran one after the other: {log}"
    );
}

#[test]
fn a_batch_holds_no_more_answer_bytes_than_max_batch_answer() {
    let server = Server::start(&["--max-batch-answer", "1000"]);
    let url = server.url(&format!("/plugins/{NAME}"));
    let batch = r#"[
        {"jsonrpc":"2.0","id":1,"method":"big","params":[600]},
        {"jsonrpc":"2.0","id":2,"method":"big","params":[600]},
        {"jsonrpc":"2.0","id":3,"method":"ping"}
    ]"#;
    let (status, body) = post(&agent(), &url, batch);
    assert_eq!(status, 200, "{body}");
    assert!(body.len() < 1000 + 400, "{body}");
    let answers = parse(&body);
    let answers = answers.as_array().expect("an array");
    assert_eq!(answers.len(), 3);
    // Whichever big answer came second does not fit: it is replaced.
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|a| a["error"]["data"]["kind"] == "BatchAnswerLimit")
        .collect();
    assert_eq!(refused.len(), 1, "{body}");
    assert_eq!(refused[0]["error"]["code"], -32021);
    assert!(refused[0]["id"] == 1 || refused[0]["id"] == 2, "{body}");
    assert_eq!(answers[2]["result"], "pong");
}

/// Sends `request` (whole, `connection: close`) and reads the answer to
/// its end: the status line and the headers, lowercased, and the body.
fn raw_exchange(address: &str, request: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let answer = read_to_close(&mut stream);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn pages_of_allowed_origins_may_call_from_a_browser() {
    let preflight = |address: &str, origin: &str| {
        raw_exchange(
            address,
            &format!(
                "OPTIONS /plugins/{NAME} HTTP/1.1\r\nhost: {address}\r\norigin: {origin}\r\n\
                 access-control-request-method: POST\r\n\
                 access-control-request-headers: content-type\r\nconnection: close\r\n\r\n"
            ),
        )
        .0
    };
    let call = |address: &str, origin: &str| {
        let body = request("ping", None);
        raw_exchange(
            address,
            &format!(
                "POST /plugins/{NAME} HTTP/1.1\r\nhost: {address}\r\norigin: {origin}\r\n\
                 content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let app = "https://app.example";
    let server = Server::start(&["--allow-origin", app]);
    let head = preflight(&server.address, app);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("access-control-allow-origin: {app}")),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-methods: get,post"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-headers: content-type"),
        "{head}"
    );
    let (head, body) = call(&server.address, app);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("access-control-allow-origin: {app}")),
        "{head}"
    );
    assert_eq!(body, r#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
    // Another origin is served (a browser would hide the answer from its
    // page), without the header that lets it read the answer.
    let (head, _) = call(&server.address, "https://evil.example");
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    drop(server);

    // Without --allow-origin, no CORS at all: preflights are refused.
    let server = Server::start(&[]);
    let head = preflight(&server.address, app);
    assert!(head.starts_with("http/1.1 405"), "{head}");
    let (head, _) = call(&server.address, app);
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    drop(server);

    let server = Server::start(&["--allow-origin", "*"]);
    let (head, _) = call(&server.address, "https://anyone.example");
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
}

#[test]
fn plugins_and_healthz_describe_what_is_served() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(test_plugin(), dir.path().join(format!("{NAME}.wasm"))).unwrap();
    std::fs::write(dir.path().join("fixed.wasm"), answering("7")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a plugin").unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let server = Server::start_in(dir, &["--grant", "test-plugin=echo,time"]);
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let agent = agent();
    let (status, body) = get(&agent, &server.url("/healthz"));
    assert_eq!(
        (status, parse(&body)),
        (200, json!({"status": "ok", "plugins": 2}))
    );

    let (status, body) = get(&agent, &server.url("/plugins"));
    assert_eq!(status, 200);
    let plugins = parse(&body);
    let plugins = plugins.as_array().expect("an array");
    let names: Vec<_> = plugins
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fixed", NAME]);
    let test = &plugins[1];
    let bytes = std::fs::read(test_plugin()).unwrap();
    assert_eq!(test["sha256"], sha256_hex(&bytes));
    let loaded_at = u128::from(test["loaded_at_ms"].as_u64().unwrap());
    assert!(
        (before..=after).contains(&loaded_at),
        "{loaded_at} not in {before}..={after}"
    );
    assert_eq!(test["protocol"], 1);
    assert_eq!(test["version"], env!("CARGO_PKG_VERSION"));
    let methods = test["methods"].as_array().unwrap();
    for method in ["ping", "echo", "sleep"] {
        assert!(methods.contains(&json!(method)), "{method}: {test}");
    }
    assert!(
        test["capabilities"]["requested"]
            .as_array()
            .unwrap()
            .contains(&json!("echo")),
        "{test}"
    );
    assert_eq!(
        test["capabilities"]["granted"],
        json!(["config.get", "echo", "time"])
    );
    // A module without a manifest: what the host knows.
    let fixed = &plugins[0];
    assert_eq!(fixed["methods"], json!([]));
    assert_eq!(fixed["capabilities"]["requested"], json!([]));
    assert_eq!(fixed["capabilities"]["granted"], json!(["config.get"]));
}

#[test]
fn the_config_file_and_flags_say_what_each_plugin_is_given() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        r#"
        [defaults]
        grant = ["time"]
        args = ["--everyone"]

        [plugins.test-plugin]
        grant = ["echo"]
        kv = true
        config = { greeting = "Hello", n = 12 }
        env = { LANG = "C" }
        "#,
    )
    .unwrap();
    let server = Server::start(&[
        "--config-file",
        config.path().to_str().unwrap(),
        "--grant",
        "test-plugin=log",
    ]);
    let agent = agent();
    let url = server.url(&format!("/plugins/{NAME}"));
    let result = |method: &str, params: &str| {
        let (status, body) = post(&agent, &url, &request(method, Some(params)));
        assert_eq!(status, 200, "{body}");
        parse(&body)
    };
    // Granted by the plugin's table, and by the flag.
    assert_eq!(
        result("call_host", r#"["echo", [1, 2]]"#)["result"],
        json!([1, 2])
    );
    // Its table's `grant` replaces the default one: `time` is not granted.
    let refused = result("call_host", r#"["time", []]"#);
    assert_eq!(refused["error"]["code"], -32010, "{refused}");
    assert_eq!(
        result("call_host", r#"["kv.set", ["k", {"v": 1}]]"#)["result"],
        json!(null)
    );
    assert_eq!(
        result("call_host", r#"["kv.get", ["k"]]"#)["result"],
        json!({"v": 1})
    );
    assert_eq!(result("config", r#"["greeting"]"#)["result"], "Hello");
    assert_eq!(result("config", r#"["n"]"#)["result"], 12);
    assert_eq!(
        result("args_env", "null")["result"],
        json!({"args": ["--everyone"], "env": {"LANG": "C"}})
    );
    let (_, body) = get(&agent, &server.url("/plugins"));
    let granted = &parse(&body)[0]["capabilities"]["granted"];
    for method in ["config.get", "echo", "kv.delete", "kv.get", "kv.set", "log"] {
        assert!(
            granted.as_array().unwrap().contains(&json!(method)),
            "{method}: {granted}"
        );
    }
    assert!(
        !granted.as_array().unwrap().contains(&json!("time")),
        "{granted}"
    );
}

#[test]
fn nothing_is_granted_unless_asked_and_a_bad_config_file_is_refused() {
    let server = Server::start(&[]);
    let agent = agent();
    let url = server.url(&format!("/plugins/{NAME}"));
    let (_, body) = post(
        &agent,
        &url,
        &request("call_host", Some(r#"["echo", [1]]"#)),
    );
    assert_eq!(parse(&body)["error"]["code"], -32010, "{body}");
    drop(server);
    // For a trusted plugin: what its manifest requests (`echo`).
    let server = Server::start(&["--grant-requested"]);
    let url = server.url(&format!("/plugins/{NAME}"));
    let (_, body) = post(
        &agent,
        &url,
        &request("call_host", Some(r#"["echo", [1]]"#)),
    );
    assert_eq!(parse(&body)["result"], json!([1]), "{body}");
    drop(server);

    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[plugins.x]\ngrants = [\"echo\"]\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_wasplug"))
        .arg("serve")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--config-file"])
        .arg(config.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("grants"), "{stderr}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Starts `method` with `params` on another thread, and waits until the
/// server logs that the plugin call began (the server runs at `info`).
fn call_in_flight(
    server: &Server,
    method: &str,
    params: &str,
) -> thread::JoinHandle<((u16, String), Instant)> {
    let before = server.stderr().matches("calling").count();
    let url = server.url(&format!("/plugins/{NAME}"));
    let body = request(method, Some(params));
    let call = thread::spawn(move || {
        let answer = post(&agent(), &url, &body);
        (answer, Instant::now())
    });
    server.wait_for_log_count("calling", before + 1);
    call
}

#[test]
fn sigterm_lets_the_call_in_flight_finish_then_exits_0() {
    let server = Server::start(&["--log-level", "info"]);
    let in_flight = call_in_flight(&server, "sleep", "[3000]");
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        in_flight.join().unwrap().0,
        (200, r#"{"jsonrpc":"2.0","result":3000,"id":1}"#.to_owned())
    );
}

#[test]
fn past_the_shutdown_timeout_the_server_exits_with_calls_in_flight() {
    let server = Server::start(&["--log-level", "info", "--shutdown-timeout", "1"]);
    // A call far longer than the grace period (and than HANG, were it awaited).
    let in_flight = call_in_flight(&server, "sleep", "[120000]");
    let status = server.terminate();
    assert_eq!(status.code(), Some(1), "{status:?}");
    // The connection closed without an answer: `post` panicked on it.
    assert!(in_flight.join().is_err(), "the dropped call was answered");
}

#[test]
fn calls_beyond_max_calls_wait_for_a_running_one() {
    let server = Server::start(&["--log-level", "info", "--max-calls", "1"]);
    let slow = call_in_flight(&server, "sleep", "[2000]");
    // The slow call has begun: it holds the only permit for about 2 s more.
    let slow_began = Instant::now();
    let url = server.url(&format!("/plugins/{NAME}"));
    let (quick_answer, quick_done) = {
        let answer = post(&agent(), &url, &request("ping", None));
        (answer, Instant::now())
    };
    assert_eq!(
        quick_answer,
        (
            200,
            r#"{"jsonrpc":"2.0","result":"pong","id":1}"#.to_owned()
        )
    );
    // A lower bound only: a slower machine makes it later, never earlier.
    assert!(
        quick_done.duration_since(slow_began) >= Duration::from_millis(1500),
        "the ping ran beside the sleeping call"
    );
    assert_eq!(slow.join().unwrap().0.0, 200);
}

/// Reads `stream` to its end (the server closed it): what came.
fn read_to_close(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(HANG)).unwrap();
    let mut seen = Vec::new();
    // A reset instead of a clean close is a close too.
    let _ = stream.read_to_end(&mut seen);
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn a_client_that_dribbles_its_headers_or_body_is_cut_off() {
    let server = Server::start(&["--header-timeout", "1", "--body-timeout", "1"]);
    // Headers begun, never ended: closed once the header deadline passes
    // (an HTTP client gets no answer, there was no request).
    let mut headers = TcpStream::connect(&server.address).expect("connect");
    let begun = Instant::now();
    headers
        .write_all(b"POST /plugins/test-plugin HTTP/1.1\r\nhost: x\r\n")
        .expect("send half the headers");
    read_to_close(&mut headers);
    assert!(begun.elapsed() < HANG, "the connection stayed open");

    // A connection that never sends anything is closed the same way.
    let mut idle = TcpStream::connect(&server.address).expect("connect");
    assert_eq!(read_to_close(&mut idle), "");

    // A body promised, a part sent: 408, with a JSON-RPC error.
    let mut body = TcpStream::connect(&server.address).expect("connect");
    body.write_all(
        b"POST /plugins/test-plugin HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\"",
    )
    .expect("send the headers and part of the body");
    let answer = read_to_close(&mut body);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains("-32600"), "{answer}");

    // A Content-Length over --max-body is refused before any of it is read.
    let mut big = TcpStream::connect(&server.address).expect("connect");
    big.write_all(
        b"POST /plugins/test-plugin HTTP/1.1\r\nhost: x\r\ncontent-length: 999999999\r\n\r\n",
    )
    .expect("send the headers");
    let answer = read_to_close(&mut big);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");

    // And the server still serves.
    let (status, _) = get(&agent(), &server.url("/healthz"));
    assert_eq!(status, 200);
}

/// A plugin that answers request 1 with a string of `len` x's (built with
/// `memory.fill`: a large answer, quick even in a debug build).
fn answering_a_long_string(len: u32) -> String {
    let start = r#"{"jsonrpc":"2.0","id":1,"result":""#;
    let at = 16 + start.len() as u32;
    let end = at + len;
    let pages = (end + 3) / 65536 + 1;
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") {pages})
  (data (i32.const 16) "{}")
  (func (export "_start")
    (memory.fill (i32.const {at}) (i32.const 120) (i32.const {len}))
    (i32.store8 (i32.const {end}) (i32.const 34))
    (i32.store8 (i32.const {}) (i32.const 125))
    (i32.store8 (i32.const {}) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const {}))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        start.replace('"', "\\\""),
        end + 1,
        end + 2,
        end + 3 - 16,
    )
}

#[test]
fn a_client_that_stops_reading_its_answer_is_cut_off() {
    const LEN: u32 = 15 << 20;
    let dir = tempfile::tempdir().expect("create the plugin directory");
    std::fs::write(dir.path().join("long.wasm"), answering_a_long_string(LEN)).unwrap();
    let server = Server::start_in(dir, &["--max-connections", "1", "--write-timeout", "1"]);
    // Asks for an answer larger than the socket buffers hold, and reads
    // none of it: the server's writes stall.
    let mut stalled = TcpStream::connect(&server.address).expect("connect");
    let body = request("any", None);
    let request = format!(
        "POST /plugins/long HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        server.address,
        body.len()
    );
    stalled
        .write_all(request.as_bytes())
        .expect("send the request");
    // The only connection is taken until the stalled one is cut off: then
    // this is served (without the write timeout it would wait for good).
    let (status, health) = get(&agent(), &server.url("/healthz"));
    assert_eq!(status, 200, "{health}");
    let seen = read_to_close(&mut stalled);
    assert!(
        seen.starts_with("HTTP/1.1 200"),
        "{}",
        seen.get(..200).unwrap_or(&seen)
    );
    assert!(seen.len() < LEN as usize, "the whole answer was written");
}

#[test]
fn connections_beyond_max_connections_wait_for_one_to_close() {
    let server = Server::start(&["--max-connections", "1", "--header-timeout", "2"]);
    // Holds the only connection until its header deadline closes it.
    let mut holder = TcpStream::connect(&server.address).expect("connect");
    holder
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .expect("send");
    let held = Instant::now();
    // Give the server time to accept the holder first.
    thread::sleep(Duration::from_millis(200));
    let (status, _) = get(&agent(), &server.url("/healthz"));
    assert_eq!(status, 200);
    // A lower bound only: a slower machine makes it later, never earlier.
    assert!(
        held.elapsed() >= Duration::from_millis(1500),
        "a second connection was served beside the first"
    );
    read_to_close(&mut holder);
}

#[test]
fn a_replaced_file_serves_new_requests_and_a_corrupt_one_keeps_the_old() {
    let server = Server::start(&[]);
    let agent = agent();
    let _ = wait_for_result(&server, &agent, "ping", &json!("pong"), RELOAD_WITHIN);

    // A corrupt file: the old version goes on serving, and the failure is logged.
    replace(server.dir.path(), &format!("{NAME}.wasm"), b"\0asm garbage");
    let started = Instant::now();
    while !server.stderr().contains("failed to load") {
        assert!(
            started.elapsed() < RELOAD_WITHIN,
            "no failure logged: {}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let _ = wait_for_result(&server, &agent, "ping", &json!("pong"), RELOAD_WITHIN);

    // A good new version takes over.
    replace(
        server.dir.path(),
        &format!("{NAME}.wasm"),
        answering(r#""v2""#).as_bytes(),
    );
    let _ = wait_for_result(&server, &agent, "ping", &json!("v2"), RELOAD_WITHIN);

    // A new file is served; a removed one is not.
    replace(server.dir.path(), "second.wasm", answering("2").as_bytes());
    std::fs::remove_file(server.dir.path().join(format!("{NAME}.wasm"))).unwrap();
    let started = Instant::now();
    loop {
        let second = post(
            &agent,
            &server.url("/plugins/second"),
            &request("any", None),
        );
        let first = post(
            &agent,
            &server.url(&format!("/plugins/{NAME}")),
            &request("ping", None),
        );
        if second.0 == 200 && first.0 == 404 {
            assert_eq!(second.1, r#"{"jsonrpc":"2.0","result":2,"id":1}"#);
            break;
        }
        assert!(started.elapsed() < RELOAD_WITHIN, "{second:?} {first:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Keeps `concurrency` requests going for `duration` while the plugin file
/// is replaced `replacements` times (alternating between the test plugin and
/// a fixed answer); every request must succeed. Prints requests/s and p99.
#[allow(clippy::print_stderr, reason = "the figures are the output")]
fn load(concurrency: usize, duration: Duration, replacements: u32) {
    let server = Server::start(&["--log-level", "error"]);
    let url = server.url(&format!("/plugins/{NAME}"));
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (url, stop, failures) = (url.clone(), Arc::clone(&stop), Arc::clone(&failures));
            thread::spawn(move || {
                let agent = agent();
                let body = request("ping", None);
                let mut latencies = Vec::new();
                let mut answers = [0_u64; 2];
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let (status, answer) = post(&agent, &url, &body);
                    latencies.push(sent.elapsed());
                    match (status, answer.as_str()) {
                        (200, r#"{"jsonrpc":"2.0","result":"pong","id":1}"#) => answers[0] += 1,
                        (200, r#"{"jsonrpc":"2.0","result":"v2","id":1}"#) => answers[1] += 1,
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            eprintln!("failed: {status} {answer}");
                        }
                    }
                }
                (latencies, answers)
            })
        })
        .collect();
    let versions = [
        std::fs::read(test_plugin()).unwrap(),
        answering(r#""v2""#).into_bytes(),
    ];
    let agent = agent();
    let pause = duration / (replacements + 1);
    let mut slowest_switch = Duration::ZERO;
    for i in 1..=replacements {
        thread::sleep(pause);
        let version = &versions[(i % 2) as usize];
        replace(server.dir.path(), &format!("{NAME}.wasm"), version);
        // Each replacement shows while the load goes on.
        let expected = if i % 2 == 1 {
            json!("v2")
        } else {
            json!("pong")
        };
        // Under load a request waits its turn behind the others.
        let switch = wait_for_result(&server, &agent, "ping", &expected, HANG);
        slowest_switch = slowest_switch.max(switch);
    }
    thread::sleep(pause);
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut answers = [0_u64; 2];
    for worker in workers {
        let (mine, counts) = worker.join().expect("a load thread panicked");
        latencies.extend(mine);
        answers[0] += counts[0];
        answers[1] += counts[1];
    }
    let elapsed = started.elapsed();
    assert_eq!(failures.load(Ordering::Relaxed), 0, "failed requests");
    assert_eq!(latencies.len() as u64, answers[0] + answers[1]);
    assert!(answers[0] > 0 && answers[1] > 0, "{answers:?}");
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    eprintln!(
        "serve load: {concurrency} concurrent, {:.1} s, {replacements} replacements: {} requests \
         ({} by the test plugin, {} by the fixed answer), {:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         a replacement answered within {:.2} s of its rename",
        elapsed.as_secs_f64(),
        latencies.len(),
        answers[0],
        answers[1],
        latencies.len() as f64 / elapsed.as_secs_f64(),
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
        p(1.0).as_secs_f64() * 1e3,
        slowest_switch.as_secs_f64(),
    );
    let stderr = server.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn load_100_concurrent_while_the_plugin_is_replaced() {
    load(100, Duration::from_secs(4), 3);
}

/// The long form, for figures: `cargo test --release -p wasplug-cli --test
/// cli serve::load_long -- --ignored --nocapture`.
#[test]
#[ignore = "a 30-second load run; run it by name for figures"]
fn load_long() {
    load(100, Duration::from_secs(30), 10);
}

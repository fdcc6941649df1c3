//! The conformance battery of `docs/PROTOCOL.md`: runs a plugin through one
//! probe per requirement and reports, for each, pass, fail or not
//! applicable, with what it saw. `wasplug check` prints this report; tests
//! and embedders (say, a plugin store refusing uploads that do not conform)
//! run it with [`Checker::check`].
//!
//! The plugin is loaded through the host kit (which reads its manifest and
//! checks its protocol version) and asked for `rpc.discover` the way every
//! host asks. The raw probes (ids of both types, malformed lines,
//! notifications, end of input) drive a fresh instance each, directly on the
//! WASI subset: the checker writes exact lines to the plugin's stdin, reads
//! every line it writes, answers its host calls (`echo` answers its params;
//! any other method `-32601`), and closes its stdin once it waits for input
//! with nothing more to read. Every probe runs under the plugin's
//! [`Limits`] (fuel, memory, timeout, line length, host calls in flight).
//!
//! The probes block the calling thread (they sleep when the plugin sleeps):
//! run them off an async executor's threads.

use crate::{Error, Limits, Plugin};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Instant;
use wasplug_protocol::{DISCOVER_METHOD, Discover, PROTOCOL_VERSION, RawValue};
use wasplug_wasi::{Blocked, Embedder, End, Guest, GuestLimits, Outcome, Program, WasiCtx};

/// Bytes the guest's stdout and stderr hold before it waits for us.
const PIPE_CAPACITY: usize = 64 << 10;
/// A method no plugin has.
const NO_SUCH_METHOD: &str = "wasplug.check/no-such-method";
/// A numeric id beyond 32 bits, to catch ids kept in an `int`.
const NUMERIC_ID: u64 = 4_294_967_297;
/// A string id that looks like a number and needs escaping.
const STRING_ID: &str = "17 \"quoted\" \u{e9}";
/// Most characters of a plugin's line quoted in a report.
const QUOTE: usize = 120;
/// Most lines a probe keeps from the plugin before it is stopped.
const MAX_LINES: usize = 100_000;

/// How one requirement fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The plugin meets the requirement.
    Pass,
    /// The plugin breaks the requirement.
    Fail,
    /// No probe could test the requirement (the plugin documents no typed
    /// param, makes no host call...); the row says why.
    NotApplicable,
}

impl Status {
    /// `pass`, `FAIL` or `n/a`, as `wasplug check` prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::NotApplicable => "n/a",
        }
    }
}

/// One line of the report: one check of one requirement.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// How it fared.
    pub status: Status,
    /// The requirement of `docs/PROTOCOL.md` checked, `P-n`.
    pub requirement: &'static str,
    /// What was checked, in a few words.
    pub check: &'static str,
    /// What the checker saw (on a failure, what the plugin wrote or did).
    pub saw: String,
}

impl std::fmt::Display for Row {
    /// `pass  P-6   unknown method answers -32601: error -32601, id 7 echoed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<4}  {:<5} {}: {}",
            self.status.label(),
            self.requirement,
            self.check,
            self.saw
        )
    }
}

/// The report of a check: one [`Row`] per check, in the order of the
/// requirements.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn add(&mut self, requirement: &'static str, check: &'static str, outcome: Checked) {
        let (status, saw) = match outcome {
            Checked::Pass(saw) => (Status::Pass, saw),
            Checked::Fail(saw) => (Status::Fail, saw),
            Checked::NotApplicable(saw) => (Status::NotApplicable, saw),
        };
        self.rows.push(Row {
            status,
            requirement,
            check,
            saw,
        });
    }

    /// Puts the rows in the order of the requirements (stable: the probes'
    /// order within one).
    fn sorted(mut self) -> Self {
        self.rows.sort_by_key(|row| {
            row.requirement
                .trim_start_matches("P-")
                .parse::<u32>()
                .unwrap_or(u32::MAX)
        });
        self
    }

    /// Every row, in the order of the requirements.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The rows that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|row| row.status == Status::Fail)
    }

    /// Whether every requirement checked passed (none failed).
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The report of a plugin the host cannot load: P-16 fails, and no
    /// probe runs.
    pub fn unloadable(error: &Error) -> Self {
        let mut report = Self::default();
        report.add(
            "P-16",
            "manifest and protocol version",
            Checked::Fail(format!("the host cannot load it: {error}")),
        );
        report
    }
}

impl std::fmt::Display for Report {
    /// One line per row.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for row in &self.rows {
            writeln!(f, "{row}")?;
        }
        Ok(())
    }
}

/// The verdict of one check, with what it saw.
enum Checked {
    Pass(String),
    Fail(String),
    NotApplicable(String),
}

/// How a raw probe ended.
#[derive(Debug, Clone)]
enum Ending {
    Exit(i32),
    Signal(u8),
    Trap(String),
    Limit(String),
    Timeout,
    LineTooLong(usize),
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exit(status) => write!(f, "exited with status {status}"),
            Self::Signal(signal) => write!(f, "raised signal {signal}"),
            Self::Trap(message) => write!(f, "trapped: {message}"),
            Self::Limit(what) => f.write_str(what),
            Self::Timeout => f.write_str("was still running at the probe's timeout"),
            Self::LineTooLong(limit) => write!(f, "wrote a line longer than {limit} bytes"),
        }
    }
}

/// One line the plugin wrote on stdout.
#[derive(Debug, Clone)]
struct Line {
    /// The JSON value, or why the line is not one.
    value: Result<Value, String>,
    /// The line as written, cut for reports.
    text: String,
    /// Whether the checker had closed the plugin's stdin before it came.
    after_eof: bool,
}

/// Everything a raw probe saw.
#[derive(Debug)]
struct Transcript {
    lines: Vec<Line>,
    ending: Ending,
    /// Whether the checker closed stdin (the plugin waited with nothing to read).
    eof_sent: bool,
    host_calls: u64,
    /// Output after the last `\n`, never ended.
    unterminated: Option<String>,
    /// The ids of the requests the checker sent.
    sent: Vec<Value>,
}

impl Transcript {
    /// The responses (objects with an `id` and no `method`).
    fn responses(&self) -> impl Iterator<Item = (&Value, &Line)> {
        self.lines.iter().filter_map(|line| {
            let object = line.value.as_ref().ok()?.as_object()?;
            if object.contains_key("method") {
                return None;
            }
            Some((object.get("id").unwrap_or(&Value::Null), line))
        })
    }

    /// The responses whose id is exactly `id` (same JSON type and value).
    fn answers_to(&self, id: &Value) -> Vec<&Line> {
        self.responses()
            .filter(|(got, _)| same_id(got, id))
            .map(|(_, line)| line)
            .collect()
    }

    /// What the plugin wrote, for a report: its responses, or that it wrote none.
    fn describe(&self) -> String {
        let responses: Vec<String> = self
            .responses()
            .map(|(_, line)| quote(&line.text))
            .collect();
        let said = if responses.is_empty() {
            "no response".to_owned()
        } else {
            responses.join(", ")
        };
        format!("{said}; the plugin {}", self.ending)
    }
}

/// Whether two ids are the same JSON value of the same type (`7` is not
/// `7.0`, nor `"7"`).
fn same_id(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.to_string() == b.to_string(),
        _ => a == b,
    }
}

fn quote(text: &str) -> String {
    let mut cut: String = text.chars().take(QUOTE).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("`{}`", crate::text::escape(&cut))
}

/// The checker's side of a raw probe: the plugin's stdout split into lines,
/// its host calls answered, its stdin closed when it waits with nothing to read.
struct Harness {
    partial: Vec<u8>,
    max_line: usize,
    lines: Vec<Line>,
    eof_sent: bool,
    host_calls: u64,
    /// Bytes ever pushed to the plugin's stdin.
    pushed: usize,
    /// Where each answer to a host call ends in what was pushed, while the
    /// plugin has not read it: the host calls in flight.
    in_flight: std::collections::VecDeque<usize>,
    max_host_calls: usize,
}

/// Why the checker stopped a probe.
#[derive(Debug)]
enum Stopped {
    /// A line longer than the limit.
    TooLong(usize),
    /// More host calls in flight than the limit.
    HostCalls(usize),
    /// More lines than a probe keeps.
    Lines(usize),
}

/// A message with its params, result and error data cut down to their
/// kind (an empty array, object or string): what the checks look at, in
/// little memory.
fn thin(mut value: Value) -> Value {
    let kind = |value: &mut Value| match value {
        Value::Array(items) => items.clear(),
        Value::Object(members) => members.clear(),
        Value::String(text) => text.clear(),
        _ => {}
    };
    if let Value::Object(message) = &mut value {
        for key in ["params", "result"] {
            if let Some(member) = message.get_mut(key) {
                kind(member);
            }
        }
        if let Some(Value::Object(error)) = message.get_mut("error")
            && let Some(data) = error.get_mut("data")
        {
            kind(data);
        }
    }
    value
}

impl Harness {
    fn take_line(&mut self, wasi: &mut WasiCtx, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        // Kept for quoting: a little more than a quote shows.
        let text: String = text.chars().take(QUOTE.saturating_add(1)).collect();
        let value = std::str::from_utf8(bytes)
            .map_err(|e| format!("not UTF-8 ({e})"))
            .and_then(|s| serde_json::from_str::<Value>(s).map_err(|e| format!("not JSON ({e})")));
        if let Ok(Value::Object(message)) = &value
            && let (Some(id), Some(Value::String(method))) =
                (message.get("id"), message.get("method"))
        {
            // A host call: answer it at once.
            self.host_calls = self.host_calls.saturating_add(1);
            let answer = if method == "echo" {
                json!({"jsonrpc": "2.0", "id": id, "result": message.get("params").unwrap_or(&Value::Null)})
            } else {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found", "data": method}})
            };
            let stdin = wasi.stdin_mut();
            if !stdin.is_closed() {
                let line = format!("{answer}\n");
                stdin.push(line.as_bytes());
                self.pushed = self.pushed.saturating_add(line.len());
                self.in_flight.push_back(self.pushed);
            }
        }
        self.lines.push(Line {
            value: value.map(thin),
            text,
            after_eof: self.eof_sent,
        });
    }
}

impl Embedder for Harness {
    type Error = Stopped;

    fn drain(&mut self, wasi: &mut WasiCtx) -> Result<(), Stopped> {
        // The plugin's log: not looked at.
        drop(wasi.stderr_mut().take());
        // Answers the plugin has read are no longer in flight.
        let read = self.pushed.saturating_sub(wasi.stdin().len());
        while self.in_flight.front().is_some_and(|end| *end <= read) {
            self.in_flight.pop_front();
        }
        let bytes = wasi.stdout_mut().take();
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            match chunk.split_last() {
                Some((b'\n', line)) => {
                    self.partial.extend_from_slice(line);
                    let line = std::mem::take(&mut self.partial);
                    self.take_line(wasi, &line);
                }
                _ => self.partial.extend_from_slice(chunk),
            }
            if self.partial.len() > self.max_line {
                return Err(Stopped::TooLong(self.max_line));
            }
            if self.lines.len() > MAX_LINES {
                return Err(Stopped::Lines(MAX_LINES));
            }
            if self.in_flight.len() > self.max_host_calls {
                return Err(Stopped::HostCalls(self.max_host_calls));
            }
        }
        Ok(())
    }

    fn serve(
        &mut self,
        wasi: &mut WasiCtx,
        blocked: Blocked,
        until: Option<Instant>,
    ) -> Result<(), Stopped> {
        let sleep_until = |wasi: &mut WasiCtx, deadline: u64| {
            let wake = wasplug_wasi::host_instant(wasi, deadline);
            let at = until.map_or(wake, |until| wake.min(until));
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
        };
        match blocked {
            // Input came (answers to its host calls): the next step reads it.
            Blocked::Input { .. } if !wasi.stdin().is_empty() => {}
            // Waiting for input with a timeout: let the time pass first.
            Blocked::Input {
                deadline: Some(deadline),
            } if !wasi.stdin().is_closed() => sleep_until(wasi, deadline),
            // Nothing more to read: end of input.
            Blocked::Input { .. } if !wasi.stdin().is_closed() => {
                wasi.stdin_mut().close();
                self.eof_sent = true;
            }
            Blocked::Sleep { deadline } => sleep_until(wasi, deadline),
            _ => {}
        }
        Ok(())
    }
}

/// What every raw probe needs.
struct Prober {
    program: Program,
    name: String,
    limits: Limits,
}

impl Prober {
    /// Runs a fresh instance with `input` on its stdin.
    fn probe(&self, input: &str) -> Transcript {
        let wasi = WasiCtx::builder()
            .arg(&self.name)
            .stdin(input.as_bytes())
            .stdout_capacity(PIPE_CAPACITY)
            .stderr_capacity(PIPE_CAPACITY)
            .build();
        let guest_limits = GuestLimits::default()
            .with_memory(self.limits.memory())
            .with_fuel(self.limits.fuel())
            .with_fuel_slice(self.limits.fuel_slice());
        let mut guest = Guest::new(&self.program, wasi, guest_limits);
        let deadline = self
            .limits
            .timeout()
            .and_then(|t| Instant::now().checked_add(t));
        let mut harness = Harness {
            partial: Vec::new(),
            max_line: self.limits.max_line(),
            lines: Vec::new(),
            eof_sent: false,
            host_calls: 0,
            pushed: input.len(),
            in_flight: std::collections::VecDeque::new(),
            max_host_calls: self.limits.host_calls(),
        };
        let ending = match wasplug_wasi::run(&mut guest, deadline, &mut harness) {
            Err(Stopped::TooLong(limit)) => Ending::LineTooLong(limit),
            Err(Stopped::Lines(limit)) => {
                Ending::Limit(format!("wrote more than {limit} lines for a few requests"))
            }
            Err(Stopped::HostCalls(limit)) => Ending::Limit(format!(
                "had more than {limit} host calls in flight (sent, their answers not read)"
            )),
            Ok(Outcome::Timeout) => Ending::Timeout,
            Ok(Outcome::End(end)) => match end {
                End::Exit(status) => Ending::Exit(status),
                End::Signal(signal) => Ending::Signal(signal),
                End::Trap { message, .. } => Ending::Trap(message),
                End::OutOfFuel { limit } => {
                    Ending::Limit(format!("used its fuel budget of {limit} units"))
                }
                End::MemoryLimit { limit } => Ending::Limit(format!(
                    "needed more than its memory limit of {} MiB",
                    limit >> 20
                )),
                End::NoMemory => Ending::Trap("it exports no memory named `memory`".to_owned()),
                other => Ending::Trap(format!("{other:?}")),
            },
        };
        let unterminated = (!harness.partial.is_empty())
            .then(|| String::from_utf8_lossy(&harness.partial).into_owned());
        let sent = input
            .lines()
            .filter_map(|line| {
                let message: Value = serde_json::from_str(line).ok()?;
                message.get("method")?.as_str()?;
                message
                    .get("id")
                    .filter(|id| id.is_string() || id.is_u64())
                    .cloned()
            })
            .collect();
        Transcript {
            sent,
            unterminated,
            lines: harness.lines,
            ending,
            eof_sent: harness.eof_sent,
            host_calls: harness.host_calls,
        }
    }
}

/// A request line.
/// A request line; `params` go out as written (big numbers, spacing).
fn request(id: &Value, method: &str, params: Option<&RawValue>) -> String {
    let method = Value::from(method);
    match params {
        Some(params) => format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":{method},\"params\":{}}}\n",
            params.get()
        ),
        None => format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":{method}}}\n"),
    }
}

/// Checks that `transcript` holds exactly one answer to `id`, an error with
/// `code` (any of `codes`), and says what it saw.
fn expect_error(transcript: &Transcript, id: &Value, codes: &[i64]) -> Result<String, String> {
    let answers = transcript.answers_to(id);
    let [answer] = answers.as_slice() else {
        return Err(format!(
            "{} answer(s) with id {id}: {}",
            answers.len(),
            transcript.describe()
        ));
    };
    let code = answer
        .value
        .as_ref()
        .ok()
        .and_then(|v| v.get("error"))
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64);
    match code {
        Some(code) if codes.contains(&code) && id.is_null() => Ok(format!("error {code}, id null")),
        Some(code) if codes.contains(&code) => Ok(format!("error {code}, id {id} echoed")),
        _ => Err(format!(
            "expected error {}; got {}",
            codes
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
            quote(&answer.text)
        )),
    }
}

fn verdict(result: Result<String, String>) -> Checked {
    match result {
        Ok(saw) => Checked::Pass(saw),
        Err(saw) => Checked::Fail(saw),
    }
}

/// Runs the battery: [`Checker::check`].
#[derive(Debug, Clone, Default)]
pub struct Checker {
    calls: Vec<(String, Option<Box<RawValue>>)>,
}

impl Checker {
    /// A checker that runs the standard probes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also calls `method` with `params` (P-12: answered once), to check a
    /// method that makes host calls (P-14). Repeatable. The params are sent
    /// as written.
    pub fn call(mut self, method: impl Into<String>, params: Option<Box<RawValue>>) -> Self {
        self.calls.push((method.into(), params));
        self
    }

    /// Checks `loaded` (a plugin as the host built it, or why it could
    /// not): P-16 from its manifest, P-10 through [`Plugin::call_raw`], the
    /// other requirements by raw probes under the plugin's [`Limits`].
    /// Blocks until every probe has ended.
    pub fn check(&self, loaded: Result<&Plugin, &Error>) -> Report {
        let plugin = match loaded {
            Ok(plugin) => plugin,
            Err(error) => return Report::unloadable(error),
        };
        let mut report = Report::default();
        // P-16: the manifest and the protocol version, read by the host kit.
        let source = plugin.manifest_source();
        let saw = format!(
            "manifest from {} ({}), protocol {}",
            source.kind(),
            match source {
                crate::ManifestSource::Sidecar(file) => file.display().to_string(),
                crate::ManifestSource::Legacy => "`wasplug_protocol` section".into(),
                crate::ManifestSource::None => "none recorded: made up".into(),
                _ => "`wasplug_manifest` section".into(),
            },
            plugin
                .protocol_version()
                .map_or("not declared".to_owned(), |v| v.to_string())
        );
        report.add("P-16", "manifest and protocol version", Checked::Pass(saw));
        let prober = Prober {
            program: plugin.program().clone(),
            name: plugin.name().to_owned(),
            limits: plugin.limits().clone(),
        };
        self.probe_all(plugin, &prober, &mut report);
        report.sorted()
    }

    /// Every probe after loading.
    fn probe_all(&self, plugin: &Plugin, prober: &Prober, report: &mut Report) {
        let mut transcripts: Vec<(&'static str, Transcript)> = Vec::new();

        // P-10: rpc.discover through the host kit, as every host asks.
        let discovered = futures::executor::block_on(plugin.call_raw(DISCOVER_METHOD, None));
        let discover = match discovered {
            Err(error) => {
                report.add(
                    "P-10",
                    "rpc.discover answered and well-formed",
                    Checked::Fail(format!("the call failed: {error}")),
                );
                None
            }
            Ok(raw) => match serde_json::from_str::<Discover>(raw.get()) {
                Err(error) => {
                    report.add(
                        "P-10",
                        "rpc.discover answered and well-formed",
                        Checked::Fail(format!(
                            "not a discover document ({error}): {}",
                            quote(raw.get())
                        )),
                    );
                    None
                }
                Ok(document) if document.info.protocol != PROTOCOL_VERSION => {
                    report.add(
                        "P-10",
                        "rpc.discover answered and well-formed",
                        Checked::Fail(format!(
                            "info.x-wasplug-protocol is {}, not {PROTOCOL_VERSION}",
                            document.info.protocol
                        )),
                    );
                    None
                }
                Ok(document) => {
                    report.add(
                        "P-10",
                        "rpc.discover answered and well-formed",
                        Checked::Pass(format!(
                            "{} {}, {} method(s)",
                            document.info.title,
                            document.info.version,
                            document.methods.len()
                        )),
                    );
                    Some(document)
                }
            },
        };

        // P-6: an unknown method.
        let id = json!(7);
        let t = prober.probe(&request(&id, NO_SUCH_METHOD, None));
        report.add(
            "P-6",
            "unknown method answers -32601",
            verdict(expect_error(&t, &id, &[-32601])),
        );
        transcripts.push(("unknown method", t));

        // P-4: ids echoed with their type, a number and a string.
        for (check, id) in [
            ("numeric id echoed exactly", json!(NUMERIC_ID)),
            ("string id echoed exactly", json!(STRING_ID)),
        ] {
            let t = prober.probe(&request(&id, DISCOVER_METHOD, None));
            let answers = t.answers_to(&id);
            let outcome = if answers.len() == 1 {
                Checked::Pass(format!("request id {id}, answer id {id}"))
            } else {
                Checked::Fail(format!(
                    "request id {id}: {} answer(s) with that id; {}",
                    answers.len(),
                    t.describe()
                ))
            };
            report.add("P-4", check, outcome);
            transcripts.push((check, t));
        }

        // P-5: notifications (a known method and an unknown one), then a request.
        let id = json!("after-notifications");
        let input = format!(
            "{}\n{}\n{}",
            json!({"jsonrpc": "2.0", "method": DISCOVER_METHOD}),
            json!({"jsonrpc": "2.0", "method": "wasplug.check/notice", "params": {"n": 1}}),
            request(&id, DISCOVER_METHOD, None)
        );
        let t = prober.probe(&input);
        let others: Vec<String> = t
            .responses()
            .filter(|(got, _)| !same_id(got, &id))
            .map(|(_, line)| quote(&line.text))
            .collect();
        let outcome = if !others.is_empty() {
            Checked::Fail(format!("answered a notification: {}", others.join(", ")))
        } else if t.answers_to(&id).len() != 1 {
            Checked::Fail(format!(
                "after two notifications, request {id} was not answered once: {}",
                t.describe()
            ))
        } else {
            Checked::Pass("two notifications unanswered; the request after them answered".into())
        };
        report.add("P-5", "notifications get no answer", outcome);
        transcripts.push(("notifications", t));

        // P-8: a line that is not JSON, then a request.
        let after = json!(2);
        let input = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\n{}",
            request(&after, DISCOVER_METHOD, None)
        );
        let t = prober.probe(&input);
        let outcome = expect_error(&t, &Value::Null, &[-32700]).and_then(|saw| {
            if t.answers_to(&after).len() == 1 {
                Ok(format!("{saw}; the next request answered"))
            } else {
                Err(format!(
                    "{saw}, but the next request (id {after}) was not answered: {}",
                    t.describe()
                ))
            }
        });
        report.add(
            "P-8",
            "a line that is not JSON answers -32700",
            verdict(outcome),
        );
        transcripts.push(("not JSON", t));

        // P-9: JSON that is no valid message (no method; a method that is
        // not a string, in a would-be notification), a batch, then a
        // request. Each is answered -32600 with id null: a
        // message without `method` may be a broken response, whose id is
        // not the plugin's to echo.
        let bad = json!(3);
        let after = json!(5);
        let input = format!(
            "{}\n{}\n{}\n{}",
            json!({"jsonrpc": "2.0", "id": 3, "params": []}),
            json!([{"jsonrpc": "2.0", "id": 4, "method": DISCOVER_METHOD}]),
            json!({"jsonrpc": "2.0", "method": 1}),
            request(&after, DISCOVER_METHOD, None)
        );
        let t = prober.probe(&input);
        let null_errors = t
            .responses()
            .filter(|(id, line)| {
                id.is_null()
                    && line
                        .value
                        .as_ref()
                        .ok()
                        .and_then(|v| v.pointer("/error/code"))
                        .and_then(Value::as_i64)
                        == Some(-32600)
            })
            .count();
        let echoed = t.answers_to(&bad).into_iter().next();
        let batch_answered = t
            .lines
            .iter()
            .find(|line| matches!(line.value, Ok(Value::Array(_))));
        let outcome = if let Some(line) = echoed {
            Err(format!(
                "answered an invalid message with its id, not null: {}",
                quote(&line.text)
            ))
        } else if let Some(line) = batch_answered {
            Err(format!(
                "answered a batch with a batch: {}",
                quote(&line.text)
            ))
        } else if null_errors != 3 {
            Err(format!(
                "{null_errors} -32600 error(s) with id null for 3 invalid lines (no method, \
                 a batch, a method that is not a string): {}",
                t.describe()
            ))
        } else if t.answers_to(&after).len() != 1 {
            Err(format!(
                "the request after them (id {after}) was not answered once: {}",
                t.describe()
            ))
        } else {
            Ok(
                "no method, a batch, a method not a string: -32600 with id null each; \
                the next request answered"
                    .to_owned(),
            )
        };
        report.add(
            "P-9",
            "an invalid request or a batch answers -32600",
            verdict(outcome),
        );
        transcripts.push(("invalid request", t));

        // P-17: several requests on one instance, answered in any order.
        let first = json!(21);
        let second = json!("22");
        let input = format!(
            "{}{}",
            request(&first, NO_SUCH_METHOD, None),
            request(&second, DISCOVER_METHOD, None)
        );
        let t = prober.probe(&input);
        let outcome = match (t.answers_to(&first).len(), t.answers_to(&second).len()) {
            (1, 1) => Ok(format!(
                "requests {first} and {second} on one instance, both answered"
            )),
            (a, b) => Err(format!(
                "requests {first} and {second} on one instance: {a} and {b} answer(s); {}",
                t.describe()
            )),
        };
        report.add(
            "P-17",
            "serves every request until end of input",
            verdict(outcome),
        );
        transcripts.push(("two requests", t));

        // P-7: invalid params to a documented method.
        match discover.as_ref().and_then(wrong_params) {
            None => report.add(
                "P-7",
                "invalid params answer -32602",
                Checked::NotApplicable(if discover.is_some() {
                    "no documented method takes a typed param".into()
                } else {
                    "no discover document to choose a method from".into()
                }),
            ),
            Some((method, params)) => {
                let id = json!(11);
                let line = match serde_json::value::to_raw_value(&params) {
                    Ok(raw) => request(&id, &method, Some(&raw)),
                    Err(_) => request(&id, &method, None),
                };
                let t = prober.probe(&line);
                let outcome = expect_error(&t, &id, &[-32602])
                    .map(|saw| format!("{method} with {params}: {saw}"))
                    .map_err(|saw| format!("{method} with {params}: {saw}"));
                report.add("P-7", "invalid params answer -32602", verdict(outcome));
                transcripts.push(("invalid params", t));
            }
        }

        // The methods asked for with --call.
        for (index, (method, params)) in self.calls.iter().enumerate() {
            let id = json!(100 + index);
            let t = prober.probe(&request(&id, method, params.as_deref()));
            let answers = t.answers_to(&id);
            let outcome = match answers.as_slice() {
                [answer] => Ok(format!("{method}: {}", quote(&answer.text))),
                _ => Err(format!(
                    "{method} (id {id}): {} answer(s) with that id; {}",
                    answers.len(),
                    t.describe()
                )),
            };
            report.add("P-12", "a --call method answered once", verdict(outcome));
            transcripts.push(("--call", t));
        }

        aggregate(report, &transcripts);
    }
}

/// The checks every probe feeds: P-1 (with P-2 and P-3), P-11, P-12, P-13,
/// P-14, P-18.
fn aggregate(report: &mut Report, transcripts: &[(&'static str, Transcript)]) {
    // P-1 and P-2: every line one JSON-RPC 2.0 object.
    let bad = transcripts.iter().find_map(|(probe, t)| {
        if let Some(text) = &t.unterminated {
            return Some(format!(
                "{probe}: output not ended by a newline: {}",
                quote(text)
            ));
        }
        t.lines.iter().find_map(|line| {
            let why = match &line.value {
                Err(why) => why.clone(),
                Ok(Value::Array(_)) => "a batch (JSON array)".to_owned(),
                Ok(Value::Object(message)) => shape_error(message)?,
                Ok(_) => "not a JSON object".to_owned(),
            };
            Some(format!("{probe}: {why}: {}", quote(&line.text)))
        })
    });
    report.add(
        "P-1",
        "every stdout line is one JSON-RPC 2.0 message (P-2, P-3)",
        match bad {
            Some(saw) => Checked::Fail(saw),
            None => Checked::Pass(format!(
                "{} line(s) in {} probe(s)",
                transcripts
                    .iter()
                    .map(|(_, t)| t.lines.len())
                    .sum::<usize>(),
                transcripts.len()
            )),
        },
    );

    // P-12: every request answered (the per-probe lines say which).
    let unanswered = transcripts
        .iter()
        .find(|(_, t)| t.responses().next().is_none())
        .map(|(probe, t)| format!("{probe}: {}", t.describe()));
    let twice = transcripts.iter().find_map(|(probe, t)| {
        let ids: Vec<&Value> = t
            .responses()
            .map(|(id, _)| id)
            .filter(|id| !id.is_null())
            .collect();
        ids.iter().enumerate().find_map(|(i, id)| {
            ids.iter()
                .skip(i.saturating_add(1))
                .any(|other| same_id(id, other))
                .then(|| format!("{probe}: id {id} answered more than once: {}", t.describe()))
        })
    });
    let stray = transcripts.iter().find_map(|(probe, t)| {
        t.responses()
            .find(|(id, _)| !id.is_null() && !t.sent.iter().any(|sent| same_id(id, sent)))
            .map(|(id, line)| {
                format!(
                    "{probe}: answered id {id}, which was never sent: {}",
                    quote(&line.text)
                )
            })
    });
    report.add(
        "P-12",
        "every request answered exactly once, and nothing else",
        match unanswered.or(twice).or(stray) {
            Some(saw) => Checked::Fail(saw),
            None => Checked::Pass(format!("{} probe(s) answered", transcripts.len())),
        },
    );

    // P-11: answers written as soon as ready, not at end of input.
    let late = transcripts.iter().find_map(|(probe, t)| {
        t.responses()
            .find(|(_, line)| line.after_eof)
            .map(|(_, line)| {
                format!(
                    "{probe}: {} came only after stdin was closed",
                    quote(&line.text)
                )
            })
    });
    report.add(
        "P-11",
        "answers do not wait for end of input",
        match late {
            Some(saw) => Checked::Fail(saw),
            None => Checked::Pass("every answer came while stdin was open".into()),
        },
    );

    // P-13: a clean exit at end of input.
    let unclean = transcripts.iter().find(|(_, t)| match t.ending {
        Ending::Exit(0) | Ending::Limit(_) | Ending::LineTooLong(_) => false,
        Ending::Timeout => t.eof_sent,
        _ => true,
    });
    report.add(
        "P-13",
        "ends cleanly at end of input",
        match unclean {
            Some((probe, t)) => Checked::Fail(format!(
                "{probe}: the plugin {}{}",
                t.ending,
                if t.eof_sent {
                    " after its stdin was closed"
                } else {
                    ""
                }
            )),
            None => Checked::Pass("exit status 0 in every probe".into()),
        },
    );

    // P-14: host calls answered, then the request answered.
    let with_calls: Vec<&(&str, Transcript)> = transcripts
        .iter()
        .filter(|(_, t)| t.host_calls > 0)
        .collect();
    let outcome = if with_calls.is_empty() {
        Checked::NotApplicable(
            "no probe made a host call (--call METHOD=PARAMS checks one that does)".into(),
        )
    } else if let Some((probe, t)) = with_calls
        .iter()
        .find(|(_, t)| !t.responses().any(|(id, _)| !id.is_null()))
    {
        Checked::Fail(format!(
            "{probe}: {} host call(s) answered, then {}",
            t.host_calls,
            t.describe()
        ))
    } else {
        Checked::Pass(format!(
            "{} host call(s) answered, then the request answered",
            with_calls.iter().map(|(_, t)| t.host_calls).sum::<u64>()
        ))
    };
    report.add("P-14", "answers after its host calls", outcome);

    // P-18: within the limits.
    let broke = transcripts.iter().find(|(_, t)| {
        matches!(
            t.ending,
            Ending::Limit(_) | Ending::Timeout | Ending::LineTooLong(_)
        )
    });
    report.add(
        "P-18",
        "stays within the call limits",
        match broke {
            Some((probe, t)) => Checked::Fail(format!("{probe}: the plugin {}", t.ending)),
            None => Checked::Pass("fuel, memory, time and line length within the limits".into()),
        },
    );
}

/// What is wrong with a message's shape, if anything (P-2).
fn shape_error(message: &serde_json::Map<String, Value>) -> Option<String> {
    if message.get("jsonrpc") != Some(&json!("2.0")) {
        return Some("no `\"jsonrpc\": \"2.0\"`".into());
    }
    let id_ok = |id: &Value| id.is_string() || id.as_u64().is_some() || id.is_null();
    match (message.get("method"), message.get("id")) {
        (Some(Value::String(_)), id) => {
            if id.is_some_and(|id| id.is_null() || !id_ok(id)) {
                return Some("a request id must be a string or a non-negative integer".into());
            }
            match message.get("params") {
                None | Some(Value::Array(_) | Value::Object(_)) => None,
                Some(_) => Some("params must be an array or an object".into()),
            }
        }
        (Some(_), _) => Some("`method` must be a string".into()),
        (None, None) => Some("neither a request, a notification nor a response".into()),
        (None, Some(id)) if !id_ok(id) => {
            Some("an id must be a string or a non-negative integer".into())
        }
        (None, Some(_)) => match (message.get("result"), message.get("error")) {
            (Some(_), None) => None,
            (None, Some(Value::Object(error))) => {
                let code = error.get("code").and_then(Value::as_i64).is_some();
                let text = error.get("message").is_some_and(Value::is_string);
                (!(code && text))
                    .then(|| "an error needs an integer `code` and a string `message`".into())
            }
            _ => Some("a response holds exactly one of `result` and `error`".into()),
        },
    }
}

/// A documented method and params of the wrong type for it: a required
/// param whose schema names a type is given a value of another type.
fn wrong_params(document: &Discover) -> Option<(String, Value)> {
    use wasplug_protocol::ParamStructure;
    document.methods.iter().find_map(|method| {
        let structure = method.param_structure?;
        let index = method
            .params
            .iter()
            .position(|p| p.required && p.schema.get("type").and_then(Value::as_str).is_some())?;
        let wrong = |schema: &Value| match schema.get("type").and_then(Value::as_str) {
            Some("string") => json!({"wasplug-check": "not a string"}),
            _ => json!("wasplug-check: not the right type"),
        };
        let params = match structure {
            ParamStructure::ByName => {
                let mut object = serde_json::Map::new();
                for (i, param) in method.params.iter().enumerate() {
                    if param.required || i == index {
                        object.insert(param.name.clone(), wrong(&param.schema));
                    }
                }
                Value::Object(object)
            }
            _ => Value::Array(
                method
                    .params
                    .iter()
                    .take(index.saturating_add(1))
                    .map(|param| wrong(&param.schema))
                    .collect(),
            ),
        };
        Some((method.name.clone(), params))
    })
}

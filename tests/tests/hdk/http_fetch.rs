//! The built-in `http.fetch`, against HTTP servers on loopback: allowed for
//! the hosts a policy names and refused for others, with size and time limits.

use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use wasplug_hdk::{Grants, HttpPolicy, Plugin};
use wasplug_protocol::codes::{INVALID_PARAMS, LIMIT_EXCEEDED, NOT_PERMITTED};
use wasplug_tests::{
    guests,
    host::{HostError, call_host, on_each_executor},
};

/// A loopback HTTP server: its port, how many connections it accepted, the
/// `Host` of each request, and whether `/hold` may answer.
struct Server {
    port: u16,
    connections: Arc<AtomicUsize>,
    hosts: Arc<Mutex<Vec<String>>>,
    released: Arc<AtomicBool>,
}

impl Server {
    /// Serves, each connection on a thread of its own:
    /// - `/hello`: 200, `x-test: yes`, `hello from loopback`;
    /// - `/big`: 200, 10 000 bytes;
    /// - `/slow`: answers after 5 s;
    /// - `/echo`: 200, `METHOD BODY` and the `x-in` header's value;
    /// - `/redirect`: 302 to `/hello`;
    /// - `/hold`: 200 once [`Server::release`] is called (or after 20 s).
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let released = Arc::new(AtomicBool::new(false));
        let count = Arc::clone(&connections);
        let (seen, free) = (Arc::clone(&hosts), Arc::clone(&released));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let (seen, free) = (Arc::clone(&seen), Arc::clone(&free));
                std::thread::spawn(move || answer(stream, port, &seen, &free));
            }
        });
        Self {
            port,
            connections,
            hosts,
            released,
        }
    }

    /// Lets every `/hold` request answer.
    fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
    }

    /// The `Host` header of each request, in order.
    fn hosts(&self) -> Vec<String> {
        self.hosts.lock().unwrap().clone()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn answer(stream: TcpStream, port: u16, hosts: &Mutex<Vec<String>>, released: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let (mut length, mut x_in) = (0usize, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "x-in" => value.trim().clone_into(&mut x_in),
            "host" => hosts.lock().unwrap().push(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
    let (status, headers, text) = match path {
        "/hello" => (
            "200 OK",
            "x-test: yes\r\n".to_owned(),
            "hello from loopback".to_owned(),
        ),
        "/big" => ("200 OK", String::new(), "x".repeat(10_000)),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(5));
            ("200 OK", String::new(), "late".to_owned())
        }
        "/echo" => (
            "200 OK",
            String::new(),
            format!("{method} {} {x_in}", String::from_utf8_lossy(&body)),
        ),
        "/hold" => {
            let started = Instant::now();
            while !released.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(10));
            }
            ("200 OK", String::new(), "held".to_owned())
        }
        "/redirect" => (
            "302 Found",
            format!("location: http://127.0.0.1:{port}/hello\r\n"),
            String::new(),
        ),
        _ => ("404 Not Found", String::new(), String::new()),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn plugin(policy: HttpPolicy) -> Plugin {
    Plugin::from_file(guests::TEST_PLUGIN)
        .grants(Grants::none().with_http(policy))
        .build()
        .unwrap()
}

fn limit(error: HostError) -> String {
    assert_eq!(error.code, LIMIT_EXCEEDED, "{error:?}");
    error.data.unwrap()["limit"].as_str().unwrap().to_owned()
}

#[test]
fn an_allowed_host_is_fetched() {
    let server = Server::start();
    let policy = HttpPolicy::allow([format!("127.0.0.1:{}", server.port)]);
    let url = server.url("/hello");
    on_each_executor(|| {
        let (policy, url) = (policy.clone(), url.clone());
        async move {
            let answer = call_host(&plugin(policy), "http.fetch", json!({"url": url}))
                .await
                .unwrap();
            assert_eq!(answer["status"], 200);
            assert_eq!(answer["body"], "hello from loopback");
            assert_eq!(answer["headers"]["x-test"], "yes");
        }
    });
}

#[test]
fn method_headers_and_body_are_sent() {
    let server = Server::start();
    let plugin = plugin(HttpPolicy::allow(["127.0.0.1"]));
    futures::executor::block_on(async {
        let request = json!({
            "url": server.url("/echo"),
            "method": "post",
            "headers": {"x-in": "from the plugin"},
            "body": "ping",
        });
        let answer = call_host(&plugin, "http.fetch", request).await.unwrap();
        assert_eq!(answer["body"], "POST ping from the plugin");
        let missing = call_host(&plugin, "http.fetch", json!({"url": server.url("/nope")}))
            .await
            .unwrap();
        assert_eq!(missing["status"], 404);
    });
}

#[test]
fn another_host_is_refused_without_a_connection() {
    let (allowed, other) = (Server::start(), Server::start());
    let plugin = plugin(HttpPolicy::allow([format!("127.0.0.1:{}", allowed.port)]));
    futures::executor::block_on(async {
        for url in [
            other.url("/hello"),
            format!("http://localhost:{}/hello", allowed.port),
            format!(
                "http://127.0.0.1:{}@127.0.0.1:{}/hello",
                allowed.port, other.port
            ),
        ] {
            let error = call_host(&plugin, "http.fetch", json!({"url": url}))
                .await
                .unwrap_err();
            assert_eq!(error.code, NOT_PERMITTED, "{url}");
        }
        // A redirect is not followed: the plugin sees it (and may fetch its
        // location, checked like any URL); the server sees one connection.
        let answer = call_host(
            &plugin,
            "http.fetch",
            json!({"url": format!("http://127.0.0.1:{}/redirect", allowed.port)}),
        )
        .await
        .unwrap();
        assert_eq!(answer["status"], 302);
        assert_eq!(
            answer["headers"]["location"],
            format!("http://127.0.0.1:{}/hello", allowed.port)
        );
    });
    assert_eq!(other.connections(), 0);
    assert_eq!(allowed.connections(), 1);
}

#[test]
fn http_fetch_is_off_unless_granted() {
    let server = Server::start();
    let plugin = Plugin::from_file(guests::TEST_PLUGIN)
        .grants(Grants::all())
        .build()
        .unwrap();
    let error = futures::executor::block_on(call_host(
        &plugin,
        "http.fetch",
        json!({"url": server.url("/hello")}),
    ))
    .unwrap_err();
    assert_eq!(
        error,
        HostError {
            code: NOT_PERMITTED,
            data: Some(json!("http.fetch"))
        }
    );
    assert_eq!(server.connections(), 0);
}

#[test]
fn bodies_over_the_limits_are_refused() {
    let server = Server::start();
    // The URL, the headers' names and values, and the body count.
    let url = server.url("/echo");
    let plugin = plugin(
        HttpPolicy::allow(["127.0.0.1"])
            .with_max_response_bytes(1000)
            .with_max_request_bytes(url.len() + "x-in".len() + 2 + 10),
    );
    futures::executor::block_on(async {
        let big = call_host(&plugin, "http.fetch", json!({"url": server.url("/big")})).await;
        assert_eq!(limit(big.unwrap_err()), "response_bytes");
        let connections = server.connections();
        for (header, body) in [("ab", "x".repeat(11)), ("abc", "x".repeat(10))] {
            let request = json!({
                "url": url, "method": "POST", "headers": {"x-in": header}, "body": body,
            });
            let sent = call_host(&plugin, "http.fetch", request).await;
            assert_eq!(limit(sent.unwrap_err()), "request_bytes");
        }
        assert_eq!(server.connections(), connections, "nothing was sent");
        // At the limits, both pass.
        let request = json!({
            "url": url, "method": "POST", "headers": {"x-in": "ab"}, "body": "x".repeat(10),
        });
        let answer = call_host(&plugin, "http.fetch", request).await.unwrap();
        assert_eq!(answer["body"], "POST xxxxxxxxxx ab");
    });
}

#[test]
fn a_fetch_past_its_timeout_fails() {
    let server = Server::start();
    let plugin = plugin(HttpPolicy::allow(["127.0.0.1"]).with_timeout(Duration::from_millis(300)));
    on_each_executor(|| {
        let (plugin, url) = (plugin.clone(), server.url("/slow"));
        async move {
            let started = Instant::now();
            let error = call_host(&plugin, "http.fetch", json!({"url": url}))
                .await
                .unwrap_err();
            assert_eq!(limit(error), "timeout_ms");
            // The server answers after 5 s; the timeout ends the fetch well before.
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "{:?}",
                started.elapsed()
            );
        }
    });
}

#[test]
fn bad_params_are_invalid() {
    let plugin = plugin(HttpPolicy::allow(["127.0.0.1"]));
    futures::executor::block_on(async {
        for params in [
            json!({"url": "ftp://127.0.0.1/"}),
            json!({"url": "not a url"}),
            json!({"url": "http://127.0.0.1/", "method": "GE T"}),
            json!({"nope": 1}),
            Value::Array(vec![]),
        ] {
            let error = call_host(&plugin, "http.fetch", params.clone())
                .await
                .unwrap_err();
            assert_eq!(
                error.code,
                wasplug_protocol::codes::INVALID_PARAMS,
                "{params}"
            );
        }
    });
}

#[test]
fn headers_that_choose_the_host_or_framing_and_connect_or_trace_are_refused() {
    let server = Server::start();
    let plugin = plugin(HttpPolicy::allow([format!("127.0.0.1:{}", server.port)]));
    futures::executor::block_on(async {
        for name in [
            "Host",
            "host",
            "Connection",
            "Transfer-Encoding",
            "content-length",
            "TE",
            "Trailer",
            "Upgrade",
            "Expect",
            "Keep-Alive",
            "Proxy-Authorization",
            "proxy-connection",
        ] {
            let request = json!({
                "url": server.url("/hello"),
                "headers": {name: "internal.example"},
            });
            let error = call_host(&plugin, "http.fetch", request).await.unwrap_err();
            assert_eq!(error.code, INVALID_PARAMS, "{name}");
            assert_eq!(error.data, Some(json!({"header": name})));
        }
        for method in ["CONNECT", "trace"] {
            let request = json!({"url": server.url("/hello"), "method": method});
            let error = call_host(&plugin, "http.fetch", request).await.unwrap_err();
            assert_eq!(error.code, INVALID_PARAMS, "{method}");
            assert_eq!(error.data, Some(json!({"method": method.to_uppercase()})));
        }
        assert_eq!(server.connections(), 0, "nothing reached the server");
        // Other headers go through, and the host is the URL's.
        let request = json!({"url": server.url("/echo"), "headers": {"x-in": "fine"}});
        let answer = call_host(&plugin, "http.fetch", request).await.unwrap();
        assert_eq!(answer["body"], "GET  fine");
    });
    assert_eq!(server.hosts(), [format!("127.0.0.1:{}", server.port)]);
}

/// Polls until `done`, or fails after 20 s.
async fn until(done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(20), "timed out");
        futures_timer::Delay::new(Duration::from_millis(10)).await;
    }
}

#[test]
fn one_plugin_has_at_most_its_concurrent_fetches_in_flight() {
    let server = Server::start();
    let policy = HttpPolicy::allow(["127.0.0.1"]).with_max_concurrent(2);
    let (busy, other) = (plugin(policy.clone()), plugin(policy));
    let hold = json!({"url": server.url("/hold")});
    let hello = json!({"url": server.url("/hello")});
    futures::executor::block_on(async {
        let held = futures::future::join(
            call_host(&busy, "http.fetch", hold.clone()),
            call_host(&busy, "http.fetch", hold.clone()),
        );
        let rest = async {
            until(|| server.connections() == 2).await;
            // A third fetch of the same plugin is refused at once...
            let error = call_host(&busy, "http.fetch", hello.clone()).await;
            assert_eq!(limit(error.unwrap_err()), "concurrent_fetches");
            // ...while another plugin under the same policy has its own.
            let answer = call_host(&other, "http.fetch", hello.clone())
                .await
                .unwrap();
            assert_eq!(answer["status"], 200);
            server.release();
        };
        let ((first, second), ()) = futures::future::join(held, rest).await;
        assert_eq!(first.unwrap()["body"], "held");
        assert_eq!(second.unwrap()["body"], "held");
        // The slots are free again.
        let answer = call_host(&busy, "http.fetch", hello).await.unwrap();
        assert_eq!(answer["status"], 200);
    });
    assert_eq!(server.connections(), 4);
}

#[test]
fn the_timeout_counts_from_the_call_even_while_waiting_for_a_thread() {
    // 16 fetches held by the server fill the HTTP pool's threads (4 plugins
    // of 4 fetches each); a fetch waiting behind them times out on time.
    let server = Server::start();
    let policy = HttpPolicy::allow(["127.0.0.1"]);
    let holders: Vec<Plugin> = (0..4).map(|_| plugin(policy.clone())).collect();
    let waiting = plugin(policy.with_timeout(Duration::from_millis(500)));
    let hold = json!({"url": server.url("/hold")});
    futures::executor::block_on(async {
        let held = futures::future::join_all(
            holders
                .iter()
                .flat_map(|p| (0..4).map(move |_| p))
                .map(|p| call_host(p, "http.fetch", hold.clone())),
        );
        let late = async {
            until(|| server.connections() == 16).await;
            let started = Instant::now();
            let error = call_host(&waiting, "http.fetch", json!({"url": server.url("/hello")}))
                .await
                .unwrap_err();
            assert_eq!(limit(error), "timeout_ms");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{:?}",
                started.elapsed()
            );
            server.release();
        };
        let (held, ()) = futures::future::join(held, late).await;
        assert!(
            held.into_iter()
                .all(|answer| answer.unwrap()["body"] == "held")
        );
    });
}

//! `http.fetch`: an HTTP client a plugin may use on the hosts its embedder
//! allows ([`HttpPolicy`]).
//!
//! Params: `{"url": "http://host:port/path", "method": "GET", "headers":
//! {"name": "value"}, "body": "text"}` (all but `url` optional; `method`
//! defaults to `GET`). Answer: `{"status": 200, "headers": {"name":
//! "value"}, "body": "text"}`. Bodies are text: the request body is sent as
//! its UTF-8 bytes; the response body is read as UTF-8, any invalid sequence
//! replaced by U+FFFD; response header names are lower case, and repeated
//! headers are joined with `", "`. Redirects are not followed: a 3xx answer
//! comes back as it is (its `location` header included), and following it is
//! a new fetch, checked against the allow-list like the first.
//!
//! A plugin may not choose where the request goes or how it is framed:
//! the headers `host`, `connection`, `transfer-encoding`, `content-length`,
//! `te`, `trailer`, `upgrade`, `expect`, `keep-alive` and any `proxy-*`
//! (in any case), and the methods `CONNECT` and `TRACE`, are refused with
//! `-32602` (naming them) before anything is sent.
//!
//! Natively the fetch runs on a blocking thread (`ureq`), never on the
//! executor's. In a browser build it is the page's (or worker's) `fetch`,
//! under the browser's rules besides the policy: a host of another origin
//! must allow the page's origin (CORS), only the response headers CORS
//! exposes are seen, and a redirect fails the fetch (`-32603`), since a
//! browser does not show where it leads.

use super::RawResult;
use crate::platform::BoxFuture;
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use wasplug_protocol::{ErrorObjectOwned, RawValue, RpcError, codes, parse_params};
use web_time::Instant;

/// What one plugin may fetch with `http.fetch`: the hosts it may reach, and
/// the limits of each fetch.
///
/// An allowed host is written `host` (any port of that host) or `host:port`
/// (that port only; the port of a URL without one is its scheme's, 80 or
/// 443); IPv6 addresses in brackets (`[::1]:8080`). Names are compared
/// without regard to case and are not resolved: `localhost` does not allow
/// `127.0.0.1`. A name is written without a trailing dot (`example.com.` is
/// refused as an entry, and a URL whose host ends in a dot matches no
/// entry). Only `http` and `https` URLs are fetched.
///
/// [`HttpPolicy::try_allow`] refuses an entry that could never match (a
/// scheme, a path, user information, a trailing dot, an IPv6 address
/// without brackets); [`HttpPolicy::allow`] drops it with a warning.
///
/// ```
/// use std::time::Duration;
/// use wasplug_hdk::HttpPolicy;
///
/// let policy = HttpPolicy::allow(["api.example.com", "127.0.0.1:8080"])
///     .with_timeout(Duration::from_secs(5))
///     .with_max_response_bytes(256 << 10);
/// assert!(policy.allows("https://api.example.com/v1/items"));
/// assert!(policy.allows("http://127.0.0.1:8080/"));
/// assert!(!policy.allows("http://127.0.0.1:9090/"));
/// assert!(!policy.allows("http://api.example.com@evil.example/"));
/// assert!(HttpPolicy::try_allow(["https://api.example.com"]).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct HttpPolicy {
    hosts: Arc<[String]>,
    max_response_bytes: u64,
    max_request_bytes: usize,
    max_concurrent: usize,
    timeout: Duration,
}

/// An allow-list entry [`HttpPolicy::try_allow`] refuses: it is not a
/// `host` or `host:port`, so it could never match a URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{entry}` is not a host to allow ({reason}); write `host` or `host:port`, such as `api.example.com` or `[::1]:8080`"
)]
pub struct InvalidHost {
    entry: String,
    reason: &'static str,
}

impl InvalidHost {
    /// The entry, as given.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// Why it is refused.
    pub fn reason(&self) -> &str {
        self.reason
    }
}

/// `entry` as an allow-list entry: trimmed, lower case, a `host` or
/// `host:port` with nothing else.
fn allowed_host(entry: &str) -> Result<String, InvalidHost> {
    let refuse = |reason| InvalidHost {
        entry: entry.to_owned(),
        reason,
    };
    let host = entry.trim().to_ascii_lowercase();
    if host.is_empty() {
        return Err(refuse("it is empty"));
    }
    if host.contains("://") {
        return Err(refuse("it has a scheme"));
    }
    if host.contains('@') {
        return Err(refuse("it has user information"));
    }
    if host.contains(['/', '?', '#', '\\']) {
        return Err(refuse("it has a path, query or fragment"));
    }
    let authority: http::uri::Authority = host.parse().map_err(|_| {
        refuse("it is not a host name, an IPv4 address or an IPv6 address in brackets")
    })?;
    let name = authority.host();
    if name.is_empty() {
        return Err(refuse("it has no host"));
    }
    if name.ends_with('.') {
        return Err(refuse("it ends with a dot"));
    }
    // Anything after the host is `:port`, a number up to 65535.
    if authority.as_str().len() != name.len() && authority.port_u16().is_none() {
        return Err(refuse("its port is not a number up to 65535"));
    }
    Ok(host)
}

impl HttpPolicy {
    /// Default of [`HttpPolicy::with_max_response_bytes`]: 1 MiB.
    pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1 << 20;
    /// Default of [`HttpPolicy::with_max_request_bytes`]: 1 MiB.
    pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1 << 20;
    /// Default of [`HttpPolicy::with_timeout`]: 10 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default of [`HttpPolicy::with_max_concurrent`]: 4 fetches.
    pub const DEFAULT_MAX_CONCURRENT: usize = 4;

    /// A policy allowing these hosts (`host` or `host:port`), with the
    /// default limits.
    ///
    /// # Errors
    /// [`InvalidHost`], the first entry that is not a `host` or `host:port`
    /// (it has a scheme, a path, user information or a trailing dot, say).
    pub fn try_allow<I, S>(hosts: I) -> Result<Self, InvalidHost>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let hosts = hosts
            .into_iter()
            .map(|h| allowed_host(h.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self::with_hosts(hosts))
    }

    /// A policy allowing these hosts (`host` or `host:port`), with the
    /// default limits. An entry [`HttpPolicy::try_allow`] refuses is
    /// dropped, with a `tracing` warning: prefer `try_allow` for entries a
    /// user gives.
    pub fn allow<I, S>(hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let hosts = hosts
            .into_iter()
            .filter_map(|h| {
                allowed_host(h.as_ref())
                    .inspect_err(|e| tracing::warn!("http.fetch allow-list: {e}: dropped"))
                    .ok()
            })
            .collect();
        Self::with_hosts(hosts)
    }

    fn with_hosts(hosts: Arc<[String]>) -> Self {
        Self {
            hosts,
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
            max_request_bytes: Self::DEFAULT_MAX_REQUEST_BYTES,
            max_concurrent: Self::DEFAULT_MAX_CONCURRENT,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// The largest response body a fetch reads; a larger one fails the fetch
    /// with `-32011` (`data.limit`: `"response_bytes"`).
    #[must_use]
    pub fn with_max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The largest request a plugin may send: its URL, its headers' names
    /// and values, and its body, in bytes. A larger one is refused with
    /// `-32011` (`data.limit`: `"request_bytes"`) before anything is sent.
    #[must_use]
    pub fn with_max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// The most fetches one plugin may have in flight at once (all its
    /// calls together, counted by the plugin, not by the policy: plugins
    /// sharing a policy each have their own); one more is refused with
    /// `-32011` (`data.limit`: `"concurrent_fetches"`). A fetch counts until
    /// it ends, even when its call was cancelled first.
    #[must_use]
    pub fn with_max_concurrent(mut self, fetches: usize) -> Self {
        self.max_concurrent = fetches;
        self
    }

    /// The longest a whole fetch may take (waiting for a thread, connect,
    /// send, read), counted from the call; then it fails with `-32011`
    /// (`data.limit`: `"timeout_ms"`).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The allowed hosts, as given (lower case).
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The largest response body a fetch reads.
    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// The largest request (URL, headers, body) a plugin may send.
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }

    /// The most fetches one plugin may have in flight.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The longest a fetch may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether the policy allows fetching `url` (an `http` or `https` URL
    /// whose host, or host and port, is allowed).
    pub fn allows(&self, url: &str) -> bool {
        url.parse::<http::Uri>()
            .ok()
            .and_then(|uri| Target::of(&uri))
            .is_some_and(|target| self.allows_target(&target))
    }

    fn allows_target(&self, target: &Target) -> bool {
        let with_port = format!("{}:{}", target.host, target.port);
        self.hosts
            .iter()
            .any(|allowed| *allowed == target.host || *allowed == with_port)
    }
}

/// Where a URL points: its host (lower case, IPv6 in brackets) and port.
struct Target {
    host: String,
    port: u16,
}

impl Target {
    fn of(uri: &http::Uri) -> Option<Self> {
        let default_port = match uri.scheme_str()? {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let host = uri.host()?.to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        Some(Self {
            host,
            port: uri.port_u16().unwrap_or(default_port),
        })
    }
}

/// The params of `http.fetch`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FetchParams {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
}

/// The answer of `http.fetch`.
#[derive(Serialize)]
struct FetchAnswer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

/// Request headers a plugin may not set: they choose where the request
/// goes (`host`) or how the message and the connection are framed, which
/// the client does; `proxy-*` ones too.
const REFUSED_HEADERS: [&str; 9] = [
    "host",
    "connection",
    "transfer-encoding",
    "content-length",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "keep-alive",
];

/// Whether a plugin may not set header `name` (any case).
fn refused_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    REFUSED_HEADERS.contains(&name.as_str()) || name.starts_with("proxy-")
}

/// The fetches one plugin has in flight, shared by all its calls.
#[derive(Debug, Default)]
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// A slot for one more fetch, if fewer than `max` are in flight.
    fn enter(&self, max: usize) -> Option<Slot> {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(&self.0)))
    }
}

/// One fetch in flight: freed when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A fetch checked against the policy, ready to send.
struct Fetch {
    uri: http::Uri,
    method: http::Method,
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

/// `http.fetch` for `plugin` under `policy`, with `in_flight` its fetches
/// in flight.
pub(super) fn fetch(
    policy: &HttpPolicy,
    in_flight: &InFlight,
    plugin: &Arc<str>,
    params: Option<&RawValue>,
) -> BoxFuture<RawResult> {
    let started = Instant::now();
    let checked = check(policy, plugin, params).and_then(|fetch| {
        let slot = in_flight.enter(policy.max_concurrent).ok_or_else(|| {
            tracing::debug!(plugin = %plugin, "http.fetch refused: too many in flight");
            RpcError::limit_exceeded(
                format!(
                    "http.fetch: the plugin already has {} fetches in flight",
                    policy.max_concurrent
                ),
                "concurrent_fetches",
                policy.max_concurrent as u64,
            )
            .to_object()
        })?;
        Ok((fetch, slot))
    });
    match checked {
        Ok((fetch, slot)) => {
            let deadline = started.checked_add(policy.timeout);
            imp::fetch(policy.clone(), fetch, slot, deadline)
        }
        Err(error) => Box::pin(async move { Err(error) }),
    }
}

/// Parses the params and checks them against the policy.
fn check(
    policy: &HttpPolicy,
    plugin: &Arc<str>,
    params: Option<&RawValue>,
) -> Result<Fetch, ErrorObjectOwned> {
    let params: FetchParams = parse_params(params).map_err(|e| e.to_object())?;
    let invalid = |what: String| RpcError::invalid_params(what).to_object();
    let uri: http::Uri = params
        .url
        .parse()
        .map_err(|e| invalid(format!("`url` is not a URL: {e}")))?;
    let target =
        Target::of(&uri).ok_or_else(|| invalid("`url` must be an http or https URL".into()))?;
    if !policy.allows_target(&target) {
        let host = format!("{}:{}", target.host, target.port);
        tracing::warn!(plugin = %plugin, %host, "http.fetch refused: the host is not allowed");
        return Err(RpcError::new(
            codes::NOT_PERMITTED,
            format!(
                "http.fetch: the host `{}` is not allowed",
                wasplug_protocol::excerpt(&host)
            ),
        )
        .with_data(serde_json::json!({"method": super::HTTP_FETCH, "host": host}))
        .to_object());
    }
    let method = match params.method.as_deref() {
        None => http::Method::GET,
        Some(name) => http::Method::from_bytes(name.to_ascii_uppercase().as_bytes())
            .map_err(|e| invalid(format!("`method` is not an HTTP method: {e}")))?,
    };
    if method == http::Method::CONNECT || method == http::Method::TRACE {
        return Err(RpcError::invalid_params(format!(
            "http.fetch: the method `{method}` is not allowed"
        ))
        .with_data(serde_json::json!({"method": method.as_str()}))
        .to_object());
    }
    let mut size = params
        .url
        .len()
        .saturating_add(params.body.as_ref().map_or(0, String::len));
    for (name, value) in &params.headers {
        if refused_header(name) {
            return Err(RpcError::invalid_params(format!(
                "http.fetch: the header `{}` is not allowed (the host sets it)",
                wasplug_protocol::excerpt(name)
            ))
            .with_data(serde_json::json!({"header": name}))
            .to_object());
        }
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return Err(invalid(format!(
                "http.fetch: the header `{}` is not valid",
                wasplug_protocol::excerpt(name)
            )));
        }
        size = size.saturating_add(name.len()).saturating_add(value.len());
    }
    if size > policy.max_request_bytes {
        return Err(RpcError::limit_exceeded(
            format!(
                "http.fetch: the request (URL, headers and body) is {size} bytes, over the limit of {}",
                policy.max_request_bytes
            ),
            "request_bytes",
            policy.max_request_bytes as u64,
        )
        .to_object());
    }
    Ok(Fetch {
        uri,
        method,
        headers: params.headers,
        body: params.body,
    })
}

/// The error of a fetch past its timeout.
fn timed_out(policy: &HttpPolicy) -> ErrorObjectOwned {
    RpcError::limit_exceeded(
        format!(
            "http.fetch: no answer within the timeout of {}",
            crate::error::seconds(policy.timeout)
        ),
        "timeout_ms",
        u64::try_from(policy.timeout.as_millis()).unwrap_or(u64::MAX),
    )
    .to_object()
}

/// The error of a response body over the limit.
fn too_large(policy: &HttpPolicy) -> ErrorObjectOwned {
    RpcError::limit_exceeded(
        format!(
            "http.fetch: the response body is over the limit of {} bytes",
            policy.max_response_bytes
        ),
        "response_bytes",
        policy.max_response_bytes,
    )
    .to_object()
}

/// A response body as text: UTF-8, invalid sequences replaced by U+FFFD.
fn text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod imp {
    //! The native fetch: `ureq` on a blocking thread.

    use super::{Fetch, FetchAnswer, HttpPolicy, RawResult, Slot};
    use crate::{
        capabilities::{HTTP_FETCH, blocking},
        platform::{BoxFuture, Sleep},
    };
    use futures::future::{Either, select};
    use std::{collections::BTreeMap, time::Duration};
    use wasplug_protocol::RpcError;
    use web_time::Instant;

    /// Sends `fetch` on a thread of the HTTP pool; it fails at `deadline`
    /// (`None`: never), whether it waited for a thread or was under way.
    /// `slot` is held until the fetch ends, even when the call is dropped.
    pub(super) fn fetch(
        policy: HttpPolicy,
        fetch: Fetch,
        slot: Slot,
        deadline: Option<Instant>,
    ) -> BoxFuture<RawResult> {
        let timeout = policy.clone();
        let work = blocking::HTTP.answer(HTTP_FETCH, move || {
            let _slot = slot;
            let left = match deadline {
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if left > Duration::ZERO => Some(left),
                    _ => return Err(super::timed_out(&policy)),
                },
            };
            send(&policy, left, fetch)
        });
        let Some(deadline) = deadline else {
            return work;
        };
        Box::pin(async move {
            match select(work, Sleep::until(deadline)).await {
                Either::Left((answer, _)) => answer,
                Either::Right(_) => Err(super::timed_out(&timeout)),
            }
        })
    }

    /// Sends the request and reads the answer (blocking), within `left`.
    fn send(policy: &HttpPolicy, left: Option<Duration>, fetch: Fetch) -> RawResult {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(left)
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        let mut request = ureq::http::Request::builder()
            .method(fetch.method)
            .uri(fetch.uri);
        for (name, value) in &fetch.headers {
            request = request.header(name, value);
        }
        let invalid = |e: ureq::http::Error| {
            RpcError::invalid_params(format!("http.fetch: a header is not valid: {e}")).to_object()
        };
        let response = match fetch.body {
            Some(body) => agent.run(request.body(body.into_bytes()).map_err(invalid)?),
            None => agent.run(request.body(ureq::SendBody::none()).map_err(invalid)?),
        };
        let mut response = response.map_err(|e| failure(policy, e))?;
        let status = response.status().as_u16();
        let mut headers = BTreeMap::<String, String>::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(policy.max_response_bytes)
            .read_to_vec()
            .map_err(|e| failure(policy, e))?;
        super::super::to_raw(&FetchAnswer {
            status,
            headers,
            body: super::text(bytes),
        })
    }

    /// The error a failed fetch answers: `-32011` for a limit, else `-32603`.
    fn failure(policy: &HttpPolicy, error: ureq::Error) -> wasplug_protocol::ErrorObjectOwned {
        match error {
            ureq::Error::Timeout(_) => super::timed_out(policy),
            ureq::Error::BodyExceedsLimit(_) => super::too_large(policy),
            other => RpcError::internal(format!("http.fetch failed: {other}")).to_object(),
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod imp {
    //! The browser fetch: the page's (or worker's) `fetch`, aborted at the
    //! timeout or when the call is dropped; the body read as a stream and
    //! cut off at the limit.

    use super::{Fetch, FetchAnswer, HttpPolicy, RawResult, Slot};
    use crate::platform::{BoxFuture, Sleep};
    use futures::future::{Either, select};
    use js_sys::{Array, Promise, Reflect, Uint8Array};
    use std::collections::BTreeMap;
    use wasm_bindgen::{JsCast, JsValue, prelude::wasm_bindgen};
    use wasm_bindgen_futures::JsFuture;
    use wasplug_protocol::{ErrorObjectOwned, RpcError};
    use web_sys::{
        AbortController, Headers, ReadableStreamDefaultReader, Request, RequestInit,
        RequestRedirect, Response, ResponseType,
    };
    use web_time::Instant;

    #[wasm_bindgen]
    extern "C" {
        /// The global `fetch` (a window's, a worker's, Node's).
        #[wasm_bindgen(js_name = fetch)]
        fn global_fetch(request: &Request) -> Promise;
    }

    /// Aborts the request when the fetch ends or is dropped.
    struct Abort(AbortController);

    impl Drop for Abort {
        fn drop(&mut self) {
            self.0.abort();
        }
    }

    /// Sends `fetch`; it fails at `deadline` (`None`: never). `slot` is
    /// held until the fetch ends or is dropped (which aborts it).
    pub(super) fn fetch(
        policy: HttpPolicy,
        fetch: Fetch,
        slot: Slot,
        deadline: Option<Instant>,
    ) -> BoxFuture<RawResult> {
        Box::pin(async move {
            let _slot = slot;
            let controller = AbortController::new().map_err(|e| failed(&e))?;
            let abort = Abort(controller);
            let work = Box::pin(send(&policy, fetch, &abort.0));
            let Some(deadline) = deadline else {
                return work.await;
            };
            match select(work, Sleep::until(deadline)).await {
                Either::Left((answer, _)) => answer,
                Either::Right(_) => Err(super::timed_out(&policy)),
            }
        })
    }

    fn failed(error: &JsValue) -> ErrorObjectOwned {
        let text = js_sys::JSON::stringify(error)
            .ok()
            .and_then(|s| s.as_string())
            .filter(|s| s != "{}")
            .or_else(|| {
                error
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
            })
            .unwrap_or_else(|| format!("{error:?}"));
        RpcError::internal(format!("http.fetch failed: {text}")).to_object()
    }

    async fn send(policy: &HttpPolicy, fetch: Fetch, controller: &AbortController) -> RawResult {
        let init = RequestInit::new();
        init.set_method(fetch.method.as_str());
        // A redirect is not followed (its location is not shown to a page).
        init.set_redirect(RequestRedirect::Manual);
        init.set_signal(Some(&controller.signal()));
        let headers = Headers::new().map_err(|e| failed(&e))?;
        for (name, value) in &fetch.headers {
            headers.append(name, value).map_err(|_| {
                RpcError::invalid_params(format!("http.fetch: the header `{name}` is not valid"))
                    .to_object()
            })?;
        }
        init.set_headers(&headers);
        if let Some(body) = &fetch.body {
            init.set_body(&JsValue::from_str(body));
        }
        let request = Request::new_with_str_and_init(&fetch.uri.to_string(), &init)
            .map_err(|e| failed(&e))?;
        let response: Response = JsFuture::from(global_fetch(&request))
            .await
            .and_then(JsCast::dyn_into)
            .map_err(|e| failed(&e))?;
        if response.type_() == ResponseType::Opaqueredirect {
            return Err(RpcError::internal(
                "http.fetch: the server answered with a redirect, which is not followed \
                 (a browser does not show where it leads)",
            )
            .to_object());
        }
        let mut answer_headers = BTreeMap::new();
        if let Ok(Some(entries)) = js_sys::try_iter(&response.headers()) {
            for entry in entries.flatten() {
                let pair = Array::from(&entry);
                if let (Some(name), Some(value)) =
                    (pair.get(0).as_string(), pair.get(1).as_string())
                {
                    answer_headers.insert(name, value);
                }
            }
        }
        let body = match response.body() {
            Some(stream) => read(policy, &stream).await?,
            None => Vec::new(),
        };
        super::super::to_raw(&FetchAnswer {
            status: response.status(),
            headers: answer_headers,
            body: super::text(body),
        })
    }

    /// Reads the body, refusing it as soon as it passes the limit.
    async fn read(
        policy: &HttpPolicy,
        stream: &web_sys::ReadableStream,
    ) -> Result<Vec<u8>, ErrorObjectOwned> {
        let reader = ReadableStreamDefaultReader::new(stream).map_err(|e| failed(&e))?;
        let mut body = Vec::new();
        loop {
            let chunk = JsFuture::from(reader.read())
                .await
                .map_err(|e| failed(&e))?;
            let done = Reflect::get(&chunk, &JsValue::from_str("done"))
                .map_err(|e| failed(&e))?
                .is_truthy();
            if done {
                return Ok(body);
            }
            let value =
                Reflect::get(&chunk, &JsValue::from_str("value")).map_err(|e| failed(&e))?;
            let bytes = Uint8Array::new(&value);
            let total = u64::try_from(body.len())
                .unwrap_or(u64::MAX)
                .saturating_add(u64::from(bytes.length()));
            if total > policy.max_response_bytes {
                let _ = reader.cancel();
                return Err(super::too_large(policy));
            }
            body.extend(bytes.to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_with_or_without_a_port() {
        let policy = HttpPolicy::allow(["Example.com", "127.0.0.1:8080", "[::1]:9000"]);
        assert!(policy.allows("http://example.com/"));
        assert!(policy.allows("https://EXAMPLE.com:8443/x?y"));
        assert!(policy.allows("http://127.0.0.1:8080/a"));
        assert!(!policy.allows("http://127.0.0.1/a"));
        assert!(!policy.allows("http://127.0.0.1:8081/a"));
        assert!(policy.allows("http://[::1]:9000/"));
        assert!(!policy.allows("http://[::1]:9001/"));
        assert!(!policy.allows("ftp://example.com/"));
        assert!(!policy.allows("http://example.com.evil.net/"));
        assert!(!policy.allows("http://example.com@evil.net/"));
        assert!(!policy.allows("/relative"));
        let default_port = HttpPolicy::allow(["example.com:443"]);
        assert!(default_port.allows("https://example.com/"));
        assert!(!default_port.allows("http://example.com/"));
    }

    #[test]
    fn urls_that_hide_another_host_are_not_allowed() {
        let policy = HttpPolicy::try_allow(["allowed.example", "[::1]:9000"]).unwrap();
        assert!(policy.allows("http://ALLOWED.Example/"));
        assert!(policy.allows("http://allowed.example/#@evil.example"));
        for url in [
            "http://allowed.example@evil.example/",
            "http://user:allowed.example@evil.example/",
            "http://evil.example#@allowed.example/",
            "http://evil.example?@allowed.example/",
            "http://evil.example\\@allowed.example/",
            "http://evil.example/@allowed.example/",
            "http://allowed.example./",
            "http://allowed.example.evil.example/",
            "http://[::1]:9001/",
            "http://[::2]:9000/",
            "http://[0:0:0:0:0:0:0:1]:9000/",
            "http://::1:9000/",
            "//allowed.example/",
        ] {
            assert!(!policy.allows(url), "{url}");
        }
    }

    #[test]
    fn entries_that_could_never_match_are_refused() {
        for entry in [
            "http://api.example",
            "api.example/",
            "api.example/v1",
            "user@api.example",
            "api.example.",
            "api.example:",
            "api.example:99999",
            "api.example:http",
            "::1",
            "[::1",
            "",
            "  ",
            "api.example?x",
        ] {
            let error = HttpPolicy::try_allow(["fine.example", entry]).unwrap_err();
            assert_eq!(error.entry(), entry);
        }
        let policy =
            HttpPolicy::try_allow([" API.example ", "127.0.0.1:8080", "[::1]", "[::1]:80"])
                .unwrap();
        assert_eq!(
            policy.hosts(),
            ["api.example", "127.0.0.1:8080", "[::1]", "[::1]:80"]
        );
        // `allow` drops what `try_allow` refuses.
        let lenient = HttpPolicy::allow(["http://api.example", "api.example"]);
        assert_eq!(lenient.hosts(), ["api.example"]);
    }
}

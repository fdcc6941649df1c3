//! The routes: `POST /plugins/{name}`, `GET /plugins`, `GET /healthz`.

use super::{plugins, rpc};
use crate::text;
use axum::{
    Router,
    body::{Body, Bytes, HttpBody as _},
    extract::{Path, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use http_body_util::LengthLimitError;
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::Semaphore;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::{Instrument as _, field};
use wasplug_hdk::{ErrorKind, RawValue, Registry};
use wasplug_protocol::excerpt;

/// The bounds on a request's body.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyLimits {
    /// Bytes; more: 413.
    pub(crate) max: usize,
    /// From the end of the headers to the end of the body; longer: 408.
    pub(crate) timeout: Option<Duration>,
    /// Requests in a batch; more: 400.
    pub(crate) max_batch: usize,
    /// Bytes of a batch's answers together; answers past it are replaced
    /// by an error.
    pub(crate) max_batch_answer: usize,
}

/// What every route serves from.
#[derive(Clone)]
struct Serving {
    registry: Registry,
    body: BodyLimits,
    /// One permit per plugin call that may run at once; more wait.
    calls: Arc<Semaphore>,
}

/// The server's routes over `registry`; request bodies are held to `body`;
/// at most `max_calls` plugin calls run at once (more wait for one to end),
/// which bounds the memory calls take to `max_calls` times a call's memory
/// limit. Pages of `origins` may call it from a browser (CORS).
pub(crate) fn router(
    registry: Registry,
    body: BodyLimits,
    max_calls: usize,
    origins: &[Origin],
) -> Router {
    let router = Router::new()
        .route("/plugins/{name}", post(call))
        .route("/plugins", get(list))
        .route("/healthz", get(healthz))
        .with_state(Serving {
            registry,
            body,
            calls: Arc::new(Semaphore::new(max_calls.max(1))),
        });
    if origins.is_empty() {
        return router;
    }
    let allowed = if origins.iter().any(|origin| matches!(origin, Origin::Any)) {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|origin| match origin {
            Origin::Exact(origin) => Some(origin.clone()),
            Origin::Any => None,
        }))
    };
    router.layer(
        CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    )
}

/// A web origin allowed to call the server (`--allow-origin`).
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// `*`: any page.
    Any,
    /// `scheme://host[:port]`, as browsers send it.
    Exact(HeaderValue),
}

/// Reads `--allow-origin`: `*`, or an origin as a browser writes it
/// (`https://app.example`, `http://localhost:3000`): a scheme, `://`, a
/// host and maybe a port, nothing after.
pub(crate) fn origin(text: &str) -> Result<Origin, String> {
    if text == "*" {
        return Ok(Origin::Any);
    }
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("`{text}` is not an origin: it must start with https:// or http://")
        })?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if rest.is_empty() || !rest.chars().all(plain) {
        return Err(format!(
            "`{text}` is not an origin: after the scheme, only a host and a port (no path, no `/`)"
        ));
    }
    HeaderValue::from_str(text)
        .map(Origin::Exact)
        .map_err(|e| format!("`{text}` is not an origin: {e}"))
}

/// Reads a request's whole body within `limits`: past `max` bytes (at once
/// when its Content-Length says so) 413, past the deadline 408, a body the
/// client broke off 400; each with a JSON-RPC error as its body.
async fn read_body(body: Body, limits: BodyLimits) -> Result<Bytes, Response> {
    let too_large = || {
        refuse_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is over {} bytes", limits.max),
        )
    };
    if usize::try_from(body.size_hint().lower()).map_or(true, |promised| promised > limits.max) {
        return Err(too_large());
    }
    let read = axum::body::to_bytes(body, limits.max);
    let read = match limits.timeout {
        Some(timeout) => tokio::time::timeout(timeout, read).await.map_err(|_| {
            refuse_body(
                StatusCode::REQUEST_TIMEOUT,
                &format!("the request body took longer than {timeout:?} to arrive"),
            )
        })?,
        None => read.await,
    };
    read.map_err(|error| {
        let over =
            std::error::Error::source(&error).is_some_and(|source| source.is::<LengthLimitError>());
        if over {
            too_large()
        } else {
            refuse_body(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the request body: {error}"),
            )
        }
    })
}

/// A body refused with `status`, said as a JSON-RPC error.
fn refuse_body(status: StatusCode, why: &str) -> Response {
    tracing::info!(%status, "body refused: {why}");
    let refusal = rpc::error_answer(None, wasplug_protocol::codes::INVALID_REQUEST, why, None);
    json(status, refusal)
}

/// A response with a JSON body.
fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The 404 answering a call to a plugin that is not loaded.
fn unknown_plugin(name: &str) -> Response {
    tracing::info!("no such plugin");
    json(
        StatusCode::NOT_FOUND,
        rpc::error_answer(
            None,
            wasplug_protocol::codes::METHOD_NOT_FOUND,
            &format!("no plugin named `{name}` is loaded"),
            None,
        ),
    )
}

/// `POST /plugins/{name}`: a JSON-RPC request or a batch, answered by the
/// plugin.
async fn call(State(serving): State<Serving>, Path(name): Path<String>, body: Body) -> Response {
    // At error level, the span is enabled whenever any event in it is
    // shown: every line of the request names the plugin and the method.
    let span = tracing::error_span!(
        "call",
        // The client's text: cut (to about 200 bytes) and escaped.
        plugin = %text::escape(&excerpt(&name)),
        method = field::Empty,
        id = field::Empty,
        batch = field::Empty,
    );
    answer(serving, name, body).instrument(span).await
}

async fn answer(serving: Serving, name: String, body: Body) -> Response {
    let Serving {
        registry,
        body: limits,
        calls,
    } = serving;
    // Read before anything is answered: an answer that leaves the body
    // unread closes the connection under a client that may reuse it.
    let body = match read_body(body, limits).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    if registry.get(&name).is_none() {
        return unknown_plugin(&name);
    }
    let members = match rpc::parse(&body, limits.max_batch) {
        Ok(rpc::Body::One(request)) => {
            record(&tracing::Span::current(), &request);
            return match run(&registry, &calls, &name, request).await {
                Ran::Done(Some(answer)) => json(StatusCode::OK, answer),
                Ran::Done(None) => StatusCode::NO_CONTENT.into_response(),
                Ran::Gone(_) => unknown_plugin(&name),
                Ran::TaskFailed(answer) => json(StatusCode::INTERNAL_SERVER_ERROR, answer),
            };
        }
        Ok(rpc::Body::Batch(members)) => members,
        Err(bad) => {
            tracing::info!(?bad, "not a JSON-RPC request");
            return json(StatusCode::BAD_REQUEST, bad.answer());
        }
    };
    // A batch: its requests run at once (each holding a permit of its own),
    // and each is answered in its place but for notifications.
    tracing::Span::current().record("batch", members.len());
    // Bytes of the answers kept so far (the futures below run on this task,
    // one at a time).
    let kept = AtomicUsize::new(0);
    let runs = members.into_iter().map(|member| {
        let registry = &registry;
        let calls = &calls;
        let name = name.as_str();
        let kept = &kept;
        async move {
            let request = match member {
                Ok(request) => request,
                Err(bad) => {
                    tracing::info!(?bad, "a member of the batch is not a JSON-RPC request");
                    return Some(bad.answer());
                }
            };
            let span = tracing::error_span!("request", method = field::Empty, id = field::Empty);
            record(&span, &request);
            let id = request.id.clone();
            let answer = match run(registry, calls, name, request)
                .instrument(span.clone())
                .await
            {
                Ran::Done(answer) => answer?,
                _ if id.is_none() => return None,
                Ran::Gone(id) => rpc::error_answer(
                    id.as_deref(),
                    wasplug_protocol::codes::METHOD_NOT_FOUND,
                    &format!("no plugin named `{name}` is loaded"),
                    None,
                ),
                Ran::TaskFailed(answer) => answer,
            };
            let total = kept.load(Ordering::Relaxed).saturating_add(answer.len());
            if total <= limits.max_batch_answer {
                kept.store(total, Ordering::Relaxed);
                return Some(answer);
            }
            span.in_scope(|| {
                tracing::warn!(
                    bytes = answer.len(),
                    "the answer is dropped: the batch's answers are over --max-batch-answer"
                );
            });
            Some(rpc::batch_answer_too_large(
                id.as_deref(),
                limits.max_batch_answer,
            ))
        }
    });
    let answers: Vec<String> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    if answers.is_empty() {
        // Only notifications: nothing to answer.
        return StatusCode::NO_CONTENT.into_response();
    }
    json(StatusCode::OK, rpc::batch_answer(&answers))
}

/// Records `request`'s method and id in `span`: both are the client's
/// text, cut (to about 200 bytes) and escaped.
fn record(span: &tracing::Span, request: &rpc::Request) {
    span.record("method", text::escape(&excerpt(&request.method)).as_ref());
    if let Some(id) = &request.id {
        span.record("id", text::escape(&excerpt(id.get())).as_ref());
    }
}

/// How one request ended.
enum Ran {
    /// The call ended: its JSON-RPC answer (`None` for a notification).
    Done(Option<String>),
    /// The plugin was removed before the call began (the request's id).
    Gone(Option<Box<RawValue>>),
    /// The task running the call failed: a JSON-RPC error saying so.
    TaskFailed(String),
}

/// Runs one request on the plugin `name`, in a task of its own holding
/// one of `calls`' permits: a client that hangs up does not cancel it (a
/// notification runs to its end), and a panic in it answers an error
/// rather than dropping the connection.
async fn run(
    registry: &Registry,
    calls: &Arc<Semaphore>,
    name: &str,
    request: rpc::Request,
) -> Ran {
    let started = Instant::now();
    let call = registry.call_raw(name, &request.method, request.params);
    let calls = Arc::clone(calls);
    let task = tokio::spawn(
        async move {
            let _permit = calls.acquire_owned().await;
            tracing::info!("calling");
            call.await
        }
        .in_current_span(),
    );
    let outcome = match task.await {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!(%error, "the call's task failed");
            return Ran::TaskFailed(rpc::error_answer(
                request.id.as_deref(),
                wasplug_protocol::codes::INTERNAL_ERROR,
                "the server failed while running the call",
                None,
            ));
        }
    };
    let elapsed = started.elapsed();
    match &outcome {
        Ok(_) => tracing::info!(?elapsed, "answered"),
        // Removed since the check above.
        Err(error) if matches!(error.kind(), ErrorKind::UnknownPlugin { .. }) => {
            return Ran::Gone(request.id);
        }
        Err(error) if matches!(error.kind(), ErrorKind::Plugin { .. }) => {
            tracing::info!(?elapsed, %error, "answered with an error");
        }
        Err(error) => tracing::warn!(?elapsed, %error, kind = error.kind().name(), "failed"),
    }
    let Some(id) = request.id else {
        return Ran::Done(None);
    };
    Ran::Done(Some(match outcome {
        Ok(result) => rpc::result_answer(Some(&id), &result),
        Err(error) => rpc::failure_answer(Some(&id), &error),
    }))
}

/// `GET /plugins`: the loaded plugins, by name.
async fn list(State(serving): State<Serving>) -> Response {
    let plugins = serving.registry.list();
    let plugins: Vec<_> = plugins.iter().map(plugins::describe).collect();
    match serde_json::to_string(&plugins) {
        Ok(body) => json(StatusCode::OK, body),
        Err(error) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "{{\"error\":{}}}",
                serde_json::Value::from(error.to_string())
            ),
        ),
    }
}

/// `GET /healthz`: the server runs; how many plugins it serves.
async fn healthz(State(serving): State<Serving>) -> Response {
    let plugins = serving.registry.len();
    json(
        StatusCode::OK,
        format!("{{\"status\":\"ok\",\"plugins\":{plugins}}}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_a_scheme_a_host_and_a_port() {
        assert!(matches!(origin("*"), Ok(Origin::Any)));
        for good in [
            "https://app.example",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert!(
                matches!(origin(good), Ok(Origin::Exact(value)) if value == good),
                "{good}"
            );
        }
        for bad in [
            "app.example",
            "https://",
            "https://app.example/",
            "https://app.example/path",
            "ftp://app.example",
            "https://app example",
            "**",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }
}

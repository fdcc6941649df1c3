//! The routes: `POST /plugins/{name}`, `GET /plugins`, `GET /healthz`.

use super::{plugins, rpc};
use crate::text;
use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State, rejection::BytesRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use std::time::Instant;
use tracing::{Instrument as _, field};
use wasplug_hdk::{ErrorKind, Registry};
use wasplug_protocol::excerpt;

/// The server's routes over `registry`; bodies over `max_body` bytes are
/// refused (413).
pub(crate) fn router(registry: Registry, max_body: usize) -> Router {
    Router::new()
        .route("/plugins/{name}", post(call))
        .route("/plugins", get(list))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(registry)
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

/// `POST /plugins/{name}`: one JSON-RPC request, answered by the plugin.
async fn call(
    State(registry): State<Registry>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // At error level, the span is enabled whenever any event in it is
    // shown: every line of the request names the plugin and the method.
    let span = tracing::error_span!(
        "call",
        plugin = %text::escape(&name),
        method = field::Empty,
        id = field::Empty,
    );
    answer(registry, name, body).instrument(span).await
}

async fn answer(registry: Registry, name: String, body: Result<Bytes, BytesRejection>) -> Response {
    if registry.get(&name).is_none() {
        return unknown_plugin(&name);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            tracing::info!(%status, "body refused: {}", rejection.body_text());
            let refusal = rpc::error_answer(
                None,
                wasplug_protocol::codes::INVALID_REQUEST,
                &rejection.body_text(),
                None,
            );
            return json(status, refusal);
        }
    };
    let request = match rpc::parse(&body) {
        Ok(request) => request,
        Err(bad) => {
            tracing::info!(?bad, "not a JSON-RPC request");
            return json(StatusCode::BAD_REQUEST, bad.answer());
        }
    };
    // Both are the client's text: cut (to about 200 bytes) and escaped.
    let span = tracing::Span::current();
    span.record("method", text::escape(&excerpt(&request.method)).as_ref());
    if let Some(id) = &request.id {
        span.record("id", text::escape(&excerpt(id.get())).as_ref());
    }
    let started = Instant::now();
    let outcome = registry
        .call_raw(&name, &request.method, request.params)
        .await;
    let elapsed = started.elapsed();
    match &outcome {
        Ok(_) => tracing::info!(?elapsed, "answered"),
        // Removed since the check above.
        Err(error) if matches!(error.kind(), ErrorKind::UnknownPlugin { .. }) => {
            return unknown_plugin(&name);
        }
        Err(error) if matches!(error.kind(), ErrorKind::Plugin { .. }) => {
            tracing::info!(?elapsed, %error, "answered with an error");
        }
        Err(error) => tracing::warn!(?elapsed, %error, kind = error.kind().name(), "failed"),
    }
    let Some(id) = request.id else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let body = match outcome {
        Ok(result) => rpc::result_answer(Some(&id), &result),
        Err(error) => rpc::failure_answer(Some(&id), &error),
    };
    json(StatusCode::OK, body)
}

/// `GET /plugins`: the loaded plugins, by name.
async fn list(State(registry): State<Registry>) -> Response {
    let plugins = registry.list();
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
async fn healthz(State(registry): State<Registry>) -> Response {
    let plugins = registry.list().len();
    json(
        StatusCode::OK,
        format!("{{\"status\":\"ok\",\"plugins\":{plugins}}}"),
    )
}

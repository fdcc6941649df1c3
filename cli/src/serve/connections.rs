//! Accepting connections, with bounds a slow or hostile client cannot get
//! around: at most `max` connections at once (more wait in the kernel's
//! backlog), a deadline for each request's headers, which also closes a
//! keep-alive connection that stays idle that long, and one for each write
//! of an answer, which closes a connection whose client stopped reading.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use std::{io, pin::pin, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_io_timeout::TimeoutStream;

/// The bounds on connections.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    /// Connections served at once.
    pub(crate) max: usize,
    /// From the moment a connection waits for a request to the end of that
    /// request's headers; `None`: no deadline.
    pub(crate) header_timeout: Option<Duration>,
    /// How long a write to the client may make no progress (the client
    /// stopped reading) before the connection is closed; `None`: forever.
    pub(crate) write_timeout: Option<Duration>,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting and waits for the connections open to finish their requests
/// in flight (idle ones close at once).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let open = Arc::new(Semaphore::new(limits.max.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&open).acquire_owned() => match permit {
                Ok(permit) => permit,
                // Never closed while this loop holds it.
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    pause_after(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        // Without it, a client that asks for a large answer and reads none
        // of it would hold its connection, and the answer, for good.
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(limits.write_timeout);
        let connection = builder.serve_connection(
            TokioIo::new(Box::pin(stream)),
            TowerToHyperService::new(router.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// After a failed accept: a connection that failed before it was accepted
/// costs nothing; anything else (out of file descriptors, say) would fail
/// again at once, so wait a moment rather than spin.
async fn pause_after(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(%error, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

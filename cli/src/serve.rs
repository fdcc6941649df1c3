//! `wasplug serve DIR`: an HTTP JSON-RPC front over a directory of plugins,
//! reloaded as its files change.
//!
//! One tokio runtime runs the HTTP server (axum) and, on its worker
//! threads, every plugin call as an ordinary future: the host kit knows
//! nothing of tokio.

mod config;
mod connections;
mod http;
mod plugins;
mod rpc;

use crate::{LogLevel, call::LimitArgs, limits::Seconds, term};
use anyhow::Context as _;
use clap::Args;
use config::{Config, GrantArg};
use std::{path::PathBuf, process::ExitCode, time::Duration};
use wasplug_hdk::Registry;

/// What `wasplug serve --help` adds after the options.
pub(crate) const SERVE_HELP: &str = "\
Each NAME.wasm in DIR is served as the plugin NAME. DIR is watched: a file
added is served, a file replaced (in place, or renamed into place) serves new
requests while those in flight finish on the old version, a file that does
not load leaves the old version serving (a warning says why), a file removed
is no longer served.

Routes:
  POST /plugins/NAME  the body is a JSON-RPC 2.0 request to the plugin NAME,
                      or a batch (an array) of at most --max-batch; the
                      answer is its JSON-RPC response (200, errors too), or
                      the array of the batch's, 204 for a notification (or a
                      batch of them), 404 for an unknown plugin, 413 for a
                      body over --max-body, 400 for a body that is not a
                      JSON-RPC request or batch
  GET  /plugins       the loaded plugins, as a JSON array
  GET  /healthz       200 while the server runs

Browsers let pages of other origins call the server only with --allow-origin
(CORS: preflights answered, `access-control-allow-origin` on answers).

Calls that fail without the plugin answering get a JSON-RPC error whose data
is {\"kind\": \"...\"}: -32020 the plugin failed (a trap or panic, an exit
without an answer), -32021 the call broke a limit (fuel, timeout, memory...),
-32022 the host could not run it.

A plugin may call no host method (but config.get) unless granted: --grant,
--grant-requested, or the config file:

  [defaults]                 # every plugin; [plugins.NAME] keys replace these
  grant = [\"time\"]           # host methods: echo, time, log
  grant_requested = false    # what the plugin's manifest requests
  refuse_ungranted = false   # refuse a plugin requesting more than granted
  kv = false                 # kv.get/set/delete, in memory
  allow_http = []            # hosts http.fetch may reach
  config = {}                # what config.get reads
  args = []                  # the plugin's arguments
  env = {}                   # its environment

  [plugins.greeter]
  grant = [\"echo\", \"log\"]
  config = { greeting = \"Hello\" }

Once listening, `listening on http://ADDR` is printed on stdout (with
--listen 127.0.0.1:0, ADDR has the port chosen). SIGINT or SIGTERM stops the
server: calls in flight finish, then it exits with status 0.";

/// `wasplug serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    limits: LimitArgs,
    /// The plugin directory: each `NAME.wasm` in it is served as the
    /// plugin NAME.
    dir: PathBuf,
    /// The address to listen on, HOST:PORT (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    listen: String,
    /// A TOML file saying what each plugin is given: grants, config, args,
    /// env (see the README).
    #[arg(long = "config-file", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Grant host methods to one plugin (repeatable), on top of the config
    /// file's.
    #[arg(long = "grant", value_name = "NAME=METHOD,...")]
    grants: Vec<GrantArg>,
    /// Grant every plugin the host methods it requests in its manifest (for
    /// plugins you trust).
    #[arg(long)]
    grant_requested: bool,
    /// The largest request body accepted, in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_body: usize,
    /// The most requests in a batch (more: 400; 0 refuses batches). A
    /// batch's requests run at once, each counted against --max-calls.
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_batch: usize,
    /// The most bytes of a batch's answers together: answers past it are
    /// replaced by an error (-32021), so a batch holds no more memory than
    /// one call's answer may.
    #[arg(long, value_name = "BYTES", default_value_t = wasplug_hdk::Limits::DEFAULT_MAX_LINE)]
    max_batch_answer: usize,
    /// Plugin calls that may run at once; more wait for one to end. Their
    /// memory is bounded by this times --max-memory.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_calls: usize,
    /// After SIGINT or SIGTERM, how long calls in flight may go on before
    /// the server exits anyway (status 1); a second signal exits at once.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    shutdown_timeout: u64,
    /// Connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_connections: usize,
    /// How long a client may take to send a request's headers, and how long
    /// a keep-alive connection may stay idle, before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = Seconds(Some(Duration::from_secs(10))))]
    header_timeout: Seconds,
    /// Let web pages from ORIGIN (`https://app.example`, or `*` for any
    /// page) call the server from a browser: CORS (repeatable). Without
    /// it, browsers let only pages of the server's own origin read answers.
    #[arg(long = "allow-origin", value_name = "ORIGIN", value_parser = http::origin)]
    allow_origins: Vec<http::Origin>,
    /// How long a write of an answer may wait for a client that does not
    /// read it before the connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = Seconds(Some(Duration::from_secs(30))))]
    write_timeout: Seconds,
    /// How long a client may take to send a request's body (longer: 408).
    #[arg(long, value_name = "SECONDS", default_value_t = Seconds(Some(Duration::from_secs(30))))]
    body_timeout: Seconds,
}

/// `wasplug serve`: serves until SIGINT or SIGTERM.
pub(crate) fn serve(args: ServeArgs, level: LogLevel) -> anyhow::Result<ExitCode> {
    let config = Config::new(args.config.as_deref(), args.grants, args.grant_requested)?;
    let factory = plugins::Factory::new(args.limits.limits(), config, level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // Watched before anything else: a signal right after the `listening`
        // line must already shut down gracefully.
        let signals = Signals::watch()?;
        let registry = Registry::new();
        registry.on_event(plugins::log_event);
        let watch = plugins::serve_dir(&registry, &args.dir, factory)?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener
            .local_addr()
            .context("cannot read the address listened on")?;
        term::print(&format!("listening on http://{address}\n"))?;
        tracing::info!(%address, "listening");
        let router = http::router(
            registry,
            http::BodyLimits {
                max: args.max_body,
                timeout: args.body_timeout.0,
                max_batch: args.max_batch,
                max_batch_answer: args.max_batch_answer,
            },
            args.max_calls,
            &args.allow_origins,
        );
        let limits = connections::ConnectionLimits {
            max: args.max_connections,
            header_timeout: args.header_timeout.0,
            write_timeout: args.write_timeout.0,
        };
        let server = connections::serve(listener, router, limits, {
            let first = signals.received(1);
            async move {
                first.await;
                tracing::info!("shutting down: finishing the calls in flight");
            }
        });
        let grace = Duration::from_secs(args.shutdown_timeout);
        let forced = async {
            signals.received(1).await;
            tokio::select! {
                () = tokio::time::sleep(grace) => {}
                () = signals.received(2) => {}
            }
        };
        tokio::select! {
            () = server => {}
            () = forced => {
                tracing::warn!("stopped with calls still in flight: they were dropped");
                return Ok(ExitCode::FAILURE);
            }
        }
        drop(watch);
        tracing::info!("stopped: every call in flight has finished");
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGINT (Ctrl-C) and SIGTERM, counted.
struct Signals {
    count: tokio::sync::watch::Receiver<u32>,
}

impl Signals {
    /// Starts counting the signals.
    fn watch() -> anyhow::Result<Self> {
        let (sender, count) = tokio::sync::watch::channel(0u32);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut interrupt =
                signal(SignalKind::interrupt()).context("cannot watch for SIGINT")?;
            let mut terminate =
                signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                    sender.send_modify(|n| *n += 1);
                }
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                sender.send_modify(|n| *n += 1);
            }
        });
        Ok(Self { count })
    }

    /// Resolves once `n` signals have come.
    fn received(&self, n: u32) -> impl Future<Output = ()> + Send + 'static + use<> {
        let mut count = self.count.clone();
        async move {
            if count.wait_for(|&seen| seen >= n).await.is_err() {
                // The counting task is gone: no signal can come any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

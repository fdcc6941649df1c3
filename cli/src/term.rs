//! The terminal: stdout for results, stderr shared by plugin log lines and
//! the progress line.

use crate::{
    json::{self, Layout},
    text,
};
use anyhow::Context as _;
use std::{
    io::{BufWriter, IsTerminal, Write},
    sync::{
        Arc, Mutex,
        mpsc::{self, RecvTimeoutError},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// Erases the current terminal line.
const CLEAR_LINE: &str = "\r\x1b[2K";
/// How long a call runs before the progress line appears.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Writes `text` to stdout and flushes it.
///
/// # Errors
/// When stdout cannot be written (a closed pipe, say).
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Writes the JSON text `json` to stdout in `layout`, then a newline, as it
/// is written (see [`json::write`]: numbers unchanged, unsafe characters
/// escaped, no tree built), and flushes it.
///
/// # Errors
/// When stdout cannot be written (a closed pipe, say).
pub(crate) fn print_json(json: &str, layout: Layout) -> anyhow::Result<()> {
    let mut stdout = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    json::write(json, layout, &mut stdout)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Writes whole lines to stderr, erasing the progress line first if one is
/// shown, so log lines and the progress line never mix. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stderr {
    /// Whether a progress line is on screen; the lock orders all writes.
    status_shown: Arc<Mutex<bool>>,
}

impl Stderr {
    /// Writes one line (a newline is added).
    pub(crate) fn line(&self, text: &str) {
        let mut shown = self.status_shown.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        if std::mem::take(&mut *shown) {
            let _ = err.write_all(CLEAR_LINE.as_bytes());
        }
        let _ = writeln!(err, "{text}");
    }

    /// Writes a plugin's log line as `[plugin] text`, both made safe for the
    /// terminal ([`text::escape`]): a plugin cannot erase the prefix or forge
    /// a line of its own.
    pub(crate) fn plugin_line(&self, plugin: &str, text: &str) {
        self.line(&format!(
            "[{}] {}",
            text::escape(plugin),
            text::escape(text)
        ));
    }

    /// Replaces the progress line with `text` (`None`: erases it).
    fn status(&self, text: Option<&str>) {
        let mut shown = self.status_shown.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        if *shown || text.is_some() {
            let _ = write!(err, "{CLEAR_LINE}{}", text.unwrap_or_default());
            let _ = err.flush();
        }
        *shown = text.is_some();
    }
}

/// A spinner with the elapsed time, on stderr, while something runs longer
/// than a second — only when stderr is a terminal. Erased when dropped.
#[derive(Debug)]
pub(crate) struct Progress {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts showing `label` after a second (if stderr is a terminal).
    pub(crate) fn start(stderr: &Stderr, label: String) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self {
                stop: None,
                thread: None,
            };
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let stderr = stderr.clone();
        let thread = std::thread::Builder::new()
            .name("wasplug-progress".into())
            .spawn(move || {
                let started = Instant::now();
                let mut wait = PROGRESS_AFTER;
                for frame in SPINNER.iter().cycle() {
                    if stopped.recv_timeout(wait) != Err(RecvTimeoutError::Timeout) {
                        break;
                    }
                    let elapsed = started.elapsed().as_secs_f64();
                    stderr.status(Some(&format!("{frame} {label} ({elapsed:.1} s)")));
                    wait = PROGRESS_EVERY;
                }
                stderr.status(None);
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

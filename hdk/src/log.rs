//! Where a plugin's stderr lines go when the embedder chooses no logger.

use crate::text::escape;

/// The default logger: each line to `tracing` (info level, target
/// `wasplug::plugin`, field `plugin`) when a subscriber is in effect for the
/// thread; otherwise `[plugin] line` on the process's stderr natively, and
/// `console.info` in a browser, so that no line vanishes unseen. Unsafe
/// characters are escaped ([`escape`]), so a plugin cannot forge terminal
/// output.
pub(crate) fn default_logger(plugin: &str, line: &str) {
    let has_subscriber = tracing::dispatcher::get_default(|dispatch| {
        !dispatch.is::<tracing::subscriber::NoSubscriber>()
    });
    if has_subscriber {
        tracing::info!(target: "wasplug::plugin", plugin, "{line}");
    } else {
        fallback(&format!("[{}] {}", escape(plugin), escape(line)));
    }
}

/// Writes a log line where a person sees it without a subscriber.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn fallback(text: &str) {
    use std::io::Write;
    // One write per line, so lines of concurrent calls do not interleave.
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    // Nothing to do if stderr is closed.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn fallback(text: &str) {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console, js_name = info)]
        fn console_info(text: &str);
    }
    console_info(text);
}

//! Where a plugin's stderr lines go when the embedder chooses no logger.

use std::borrow::Cow;

/// The default logger: each line to `tracing` (info level, target
/// `wasplug::plugin`, field `plugin`) when a subscriber is in effect for the
/// thread; otherwise `[plugin] line` on the process's stderr natively, and
/// `console.info` in a browser, so that no line vanishes unseen. Control
/// characters are escaped (`\u{1b}`), so a plugin cannot forge terminal
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

/// `text` with every control character escaped as Rust writes it (`\n`,
/// `\u{1b}`); other text, backslashes and quotes included, unchanged.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape("plain \"text\" \\ ✓"), "plain \"text\" \\ ✓");
        assert_eq!(
            escape("a\rb\x1b[2Kc\u{9b}d\te"),
            "a\\rb\\u{1b}[2Kc\\u{9b}d\\te"
        );
    }
}

//! Arbitrary input never panics and only yields typed errors; deep nesting is refused early.

use proptest::prelude::*;
use wasplug_protocol::{Event, LineFramer, Peer, PeerConfig, ProtocolError};

/// Feeds `bytes` through a framer (in `chunk`-sized pieces) and a peer, checking every outcome.
fn feed(bytes: &[u8], chunk: usize, config: PeerConfig) {
    let mut peer = Peer::new(config);
    // Some pending requests so responses can match.
    for _ in 0..3 {
        peer.request_raw("m", None).unwrap();
    }
    let mut framer = config.framer();
    for piece in bytes.chunks(chunk.max(1)) {
        let _ = framer.push(piece);
        assert!(framer.pending_bytes() <= config.max_line);
        while let Some(line) = framer.next_line() {
            let result = line
                .map_err(ProtocolError::from)
                .and_then(|l| peer.handle_line(&l));
            match result {
                Ok(Event::Request { .. } | Event::Notification { .. } | Event::Response { .. }) => {
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    if let Some(resp) = e.error_response() {
                        assert!(resp.ends_with('\n'));
                        let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
                        assert!(v["error"]["code"].is_i64());
                    }
                }
            }
        }
    }
}

/// Byte soup biased towards JSON-RPC tokens, to reach deep into the parser.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(&b"{"[..]),
        Just(&b"}"[..]),
        Just(&b"["[..]),
        Just(&b"]"[..]),
        Just(&b":"[..]),
        Just(&b","[..]),
        Just(&b"\""[..]),
        Just(&b"\\"[..]),
        Just(&b" "[..]),
        Just(&b"\n"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\"jsonrpc\":\"2.0\""[..]),
        Just(&b"\"id\""[..]),
        Just(&b"\"method\""[..]),
        Just(&b"\"params\""[..]),
        Just(&b"\"result\""[..]),
        Just(&b"\"error\""[..]),
        Just(&b"\"code\""[..]),
        Just(&b"\"message\""[..]),
        Just(&b"\"data\""[..]),
        Just(&b"\"m\""[..]),
        Just(&b"null"[..]),
        Just(&b"true"[..]),
        Just(&b"1"[..]),
        Just(&b"2"[..]),
        Just(&b"-1"[..]),
        Just(&b"1.5e3"[..]),
        Just(&b"\xff"[..]),
        Just(&b"\xc3\xa9"[..]),
    ];
    prop::collection::vec(token, 0..200).prop_map(|ts| ts.concat())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), chunk in 1usize..64) {
        feed(&bytes, chunk, PeerConfig::default().with_max_line(128).with_max_depth(8));
    }

    #[test]
    fn jsonish_bytes_never_panic(bytes in jsonish(), chunk in 1usize..256) {
        feed(&bytes, chunk, PeerConfig::default().with_max_line(256).with_max_depth(6));
        feed(&bytes, chunk, PeerConfig::default());
    }

    #[test]
    fn arbitrary_lines_never_panic(line in ".{0,300}") {
        let mut peer = Peer::new(PeerConfig::default().with_max_depth(5));
        let _ = peer.handle_line(&line);
    }
}

fn assert_too_deep(line: &str, config: PeerConfig) {
    let mut peer = Peer::new(config);
    let started = std::time::Instant::now();
    let err = peer.handle_line(line).unwrap_err();
    assert!(
        matches!(err, ProtocolError::TooDeep { limit, ref line } if limit == config.max_depth && line.len() < 300),
        "{err:?}"
    );
    let resp: serde_json::Value = serde_json::from_str(&err.error_response().unwrap()).unwrap();
    assert_eq!(resp["error"]["code"], -32700);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

const DEEP: usize = 400_000;

#[test]
fn deep_arrays_are_too_deep() {
    assert_too_deep(&"[".repeat(DEEP), PeerConfig::default());
    let balanced = format!("{}{}", "[".repeat(DEEP), "]".repeat(DEEP));
    assert_too_deep(&balanced, PeerConfig::default().with_max_line(2 * DEEP));
}

#[test]
fn deep_objects_are_too_deep() {
    let line = format!("{}1{}", r#"{"a":"#.repeat(DEEP), "}".repeat(DEEP));
    assert_too_deep(&line, PeerConfig::default().with_max_line(line.len()));
}

#[test]
fn deep_params_of_valid_request_are_too_deep() {
    let line = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}{}}}"#,
        "[".repeat(DEEP),
        "]".repeat(DEEP)
    );
    assert_too_deep(&line, PeerConfig::default());
    // Just within the limit is fine.
    let ok = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}{}}}"#,
        "[".repeat(63),
        "]".repeat(63)
    );
    assert!(Peer::new(PeerConfig::default()).handle_line(&ok).is_ok());
    let over = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}{}}}"#,
        "[".repeat(64),
        "]".repeat(64)
    );
    assert_too_deep(&over, PeerConfig::default());
}

#[test]
fn deep_line_through_framer() {
    let mut framer = LineFramer::new(1 << 20);
    let mut bytes = "[".repeat(DEEP).into_bytes();
    bytes.push(b'\n');
    framer.push(&bytes).unwrap();
    let line = framer.next_line().unwrap().unwrap();
    assert_too_deep(&line, PeerConfig::default());
}

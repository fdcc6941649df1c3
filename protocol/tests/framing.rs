//! Framing: chunk boundaries do not matter, and the line limit bounds buffering.

use proptest::prelude::*;
use wasplug_protocol::{FrameError, LineFramer};

fn collect(framer: &mut LineFramer) -> Vec<String> {
    std::iter::from_fn(|| framer.next_line())
        .map(Result::unwrap)
        .collect()
}

proptest! {
    #[test]
    fn chunk_splits_do_not_matter(
        lines in prop::collection::vec(("\\PC{0,40}", any::<bool>()), 0..30),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        drain_every_push in any::<bool>(),
    ) {
        let mut stream = Vec::new();
        for (line, crlf) in &lines {
            stream.extend_from_slice(line.as_bytes());
            stream.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
        }
        let expected: Vec<String> = lines
            .iter()
            .map(|(l, _)| l.clone())
            .filter(|l| !l.chars().all(|c| c == ' ' || c == '\t'))
            .collect();

        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.push(0);
        cuts.push(stream.len());
        cuts.sort_unstable();

        let mut framer = LineFramer::new(200);
        let mut got = Vec::new();
        for w in cuts.windows(2) {
            framer.push(&stream[w[0]..w[1]]).unwrap();
            if drain_every_push {
                got.extend(collect(&mut framer));
            }
        }
        got.extend(collect(&mut framer));
        prop_assert_eq!(got, expected);
        prop_assert_eq!(framer.pending_bytes(), 0);
    }

    #[test]
    fn pending_never_exceeds_limit(
        chunks in prop::collection::vec(prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'x')], 0..100), 0..30),
        limit in 0usize..50,
    ) {
        let mut framer = LineFramer::new(limit);
        for chunk in &chunks {
            let _ = framer.push(chunk);
            prop_assert!(framer.pending_bytes() <= limit);
            while let Some(line) = framer.next_line() {
                prop_assert!(line.unwrap().len() <= limit);
            }
        }
    }
}

#[test]
fn ten_megabytes_without_newline() {
    let chunk = vec![b'a'; 10 * 1024 * 1024];
    let mut framer = LineFramer::new(1024);
    assert_eq!(
        framer.push(&chunk),
        Err(FrameError::LineTooLong { limit: 1024 })
    );
    assert!(framer.pending_bytes() <= 1024 + 1);

    // The same in 64 KiB pieces: reported once, never buffered.
    let mut framer = LineFramer::new(1024);
    let results: Vec<_> = chunk.chunks(64 * 1024).map(|c| framer.push(c)).collect();
    assert_eq!(results[0], Err(FrameError::LineTooLong { limit: 1024 }));
    assert!(results[1..].iter().all(Result::is_ok));
    assert_eq!(framer.pending_bytes(), 0);

    // The next line after the overlong one comes through.
    framer.push(b"tail of the long line\n{\"ok\":1}\n").unwrap();
    assert_eq!(collect(&mut framer), ["{\"ok\":1}"]);
}

#[test]
fn many_lines_in_one_big_chunk() {
    let mut stream = String::new();
    for i in 0..100_000 {
        stream.push_str(&format!("{{\"i\":{i}}}\n"));
    }
    let mut framer = LineFramer::new(64);
    framer.push(stream.as_bytes()).unwrap();
    let lines = collect(&mut framer);
    assert_eq!(lines.len(), 100_000);
    assert_eq!(lines[99_999], "{\"i\":99999}");
}

//! The host kit's fuzz targets (`hdk/fuzz/`) as property tests, for a
//! bounded number of cases in every test run: arbitrary bytes (and JSON-RPC
//! lines gone wrong) as a plugin's stdout, and arbitrary valid modules from
//! `wasm-smith` with WASI linked. The bodies and their invariants are in
//! `wasplug_tests::fuzz`.

use proptest::{collection::vec, prelude::*};
use wasplug_tests::fuzz;

/// One line a plugin might write: valid messages, near misses and garbage.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#"{"jsonrpc":"2.0","id":1,"result":"ok"}"#.to_owned()),
        Just(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"no"}}"#.to_owned()),
        Just(r#"{"jsonrpc":"2.0","method":"progress","params":[1]}"#.to_owned()),
        Just(r#"[{"jsonrpc":"2.0","id":1,"result":1}]"#.to_owned()),
        any::<i64>().prop_map(|id| format!(r#"{{"jsonrpc":"2.0","id":{id},"result":null}}"#)),
        any::<u32>().prop_map(|id| format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"echo","params":[{id}]}}"#
        )),
        "[a-z]{1,8}"
            .prop_map(|method| format!(r#"{{"jsonrpc":"2.0","id":"x","method":"{method}"}}"#)),
        (1usize..200).prop_map(|depth| format!(
            r#"{{"jsonrpc":"2.0","id":1,"result":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )),
        r#"[\[\]{}":,0-9a-z \\]{0,60}"#,
        vec(any::<u8>(), 0..40).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Lines joined by `\n` (or `\r\n`), maybe cut short.
fn lines() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(line(), 0..6),
        any::<bool>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(lines, crlf, cut)| {
            let mut bytes = lines.join(if crlf { "\r\n" } else { "\n" }).into_bytes();
            bytes.push(b'\n');
            if cut.index(4) == 0 {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_bytes_as_stdout(data in vec(any::<u8>(), 0..2048)) {
        fuzz::stdout_bytes(&data);
    }

    #[test]
    fn json_rpc_lines_gone_wrong_as_stdout(header in vec(any::<u8>(), 3), body in lines()) {
        let mut data = header;
        data.extend(body);
        fuzz::stdout_bytes(&data);
    }

    #[test]
    fn wasm_smith_modules_with_wasi(data in vec(any::<u8>(), 0..4096)) {
        fuzz::smith_module(&data);
    }

    #[test]
    fn recycled_instances_run_wasm_smith_modules_as_new_ones(data in vec(any::<u8>(), 0..4096)) {
        fuzz::smith_recycled(&data);
    }
}

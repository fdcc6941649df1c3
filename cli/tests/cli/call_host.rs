//! `wasplug call` with what a plugin is given: host stand-ins (`--host`,
//! `--hosts`), configuration, arguments and environment, and the built-in
//! capabilities (`--allow-http`, `--kv`).

use super::support::{temp_file, test_plugin, wasplug};
use predicates::prelude::*;
use std::{
    io::{Read, Write},
    net::TcpListener,
};

/// `wasplug call PLUGIN call_host [METHOD, PARAMS]` with `flags` first.
fn call_host(flags: &[&str], method: &str, params: &str) -> assert_cmd::Command {
    let mut command = wasplug();
    command
        .arg("call")
        .args(flags)
        .arg(test_plugin())
        .arg("call_host")
        .arg(format!(r#"["{method}", {params}]"#));
    command
}

#[test]
fn a_stand_in_answers_its_json() {
    call_host(&["--host", r#"user_name="Ana""#], "user_name", "[]")
        .assert()
        .success()
        .stdout("\"Ana\"\n");
    // Numbers as written.
    call_host(&["--host", "n=18446744073709551617"], "n", r#"{"any": 1}"#)
        .assert()
        .success()
        .stdout("18446744073709551617\n");
}

#[test]
fn stand_ins_come_from_a_file_and_flags_win() {
    let (_dir, file) = temp_file("hosts.json", r#"{"user_name": "Bo", "age": 41}"#);
    let hosts = file.to_str().unwrap();
    call_host(&["--hosts", hosts], "age", "[]")
        .assert()
        .success()
        .stdout("41\n");
    call_host(
        &["--hosts", hosts, "--host", r#"user_name="Ana""#],
        "user_name",
        "[]",
    )
    .assert()
    .success()
    .stdout("\"Ana\"\n");
}

#[test]
fn a_stand_in_that_is_not_json_is_explained() {
    call_host(&["--host", "user_name=Ana"], "user_name", "[]")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not valid JSON"));
}

#[test]
fn builtins_stay_granted_and_capabilities_need_their_flags() {
    call_host(&[], "echo", "[5]")
        .assert()
        .success()
        .stdout("[5]\n");
    call_host(&[], "kv.get", r#"["k"]"#)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-32010"));
    call_host(&["--kv"], "kv.get", r#"["k"]"#)
        .assert()
        .success()
        .stdout("null\n");
    call_host(&[], "no_such_method", "[]")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-32601"));
}

#[test]
fn config_args_and_env_reach_the_plugin() {
    wasplug()
        .args([
            "call",
            "--config",
            r#"greeting="hi""#,
            "--config",
            "n=[1,2]",
        ])
        .arg(test_plugin())
        .args(["config", r#""greeting""#])
        .assert()
        .success()
        .stdout("\"hi\"\n");
    wasplug()
        .args([
            "call",
            "--arg",
            "--verbose",
            "--arg",
            "x",
            "--env",
            "LANG=C",
        ])
        .arg(test_plugin())
        .arg("args_env")
        .assert()
        .success()
        .stdout("{\"args\":[\"--verbose\",\"x\"],\"env\":{\"LANG\":\"C\"}}\n");
    wasplug()
        .args(["call", "--env", "NOEQUALS"])
        .arg(test_plugin())
        .arg("args_env")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("KEY=VALUE"));
}

/// A server on loopback answering one request with `hello`.
fn serve_once() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            );
        }
    });
    port
}

#[test]
fn allow_http_grants_fetching_from_that_host_only() {
    let port = serve_once();
    let allowed = format!("127.0.0.1:{port}");
    let url = format!(r#"{{"url": "http://127.0.0.1:{port}/"}}"#);
    call_host(&["--allow-http", &allowed], "http.fetch", &url)
        .assert()
        .success()
        .stdout(
            predicate::str::contains(r#""body":"hello""#)
                .and(predicate::str::contains(r#""status":200"#)),
        );
    let other = format!(r#"{{"url": "http://127.0.0.1:{}/"}}"#, port.wrapping_add(1));
    call_host(&["--allow-http", &allowed], "http.fetch", &other)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-32010"));
    call_host(&[], "http.fetch", &url)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-32010"));
}

#[test]
fn an_allow_http_value_that_could_never_match_is_a_usage_error() {
    for value in [
        "http://127.0.0.1",
        "127.0.0.1/",
        "user@127.0.0.1",
        "localhost.",
    ] {
        call_host(
            &["--allow-http", value],
            "http.fetch",
            r#"{"url": "http://127.0.0.1/"}"#,
        )
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a host to allow"));
    }
}

#[test]
fn help_documents_stand_ins_and_capabilities() {
    wasplug()
        .args(["call", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--host <NAME=JSON>")
                .and(predicate::str::contains("--allow-http"))
                .and(predicate::str::contains("config.get"))
                .and(predicate::str::contains("-32010")),
        );
}

//! Many calls on one thread: all finish, and compute-heavy calls interleave.

use futures::future::join_all;
use serde_json::{Value, json};
use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};
use wasplug_hdk::{Limits, RawValue};
use wasplug_tests::host::{on_each_executor, test_plugin, test_plugin_builder};

#[test]
fn fifty_calls_in_flight_on_one_thread_all_complete() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let calls = (0..50u64).map(|i| {
            let plugin = plugin.clone();
            async move {
                match i % 5 {
                    0 => plugin
                        .call("sleep", json!([20]))
                        .await
                        .map(|v| v == json!(20)),
                    1 => plugin
                        .call("many_echo", json!([10]))
                        .await
                        .map(|v| v == json!(10)),
                    2 => plugin
                        .call("prime_sieve", json!([20_000]))
                        .await
                        .map(|v| v["count"] == 2262),
                    3 => plugin
                        .call("echo", json!([i]))
                        .await
                        .map(|v| v == json!([i])),
                    _ => plugin.call("ping", json!(null)).await.map(|v| v == "pong"),
                }
            }
        });
        let results = join_all(calls).await;
        assert_eq!(results.len(), 50);
        for (i, result) in results.into_iter().enumerate() {
            assert_eq!(result.ok(), Some(true), "call {i}");
        }
    });
}

/// Records each poll of a call future: `(label, finished)`.
struct Recorded<F> {
    label: &'static str,
    log: Arc<Mutex<Vec<(&'static str, bool)>>>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Recorded<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let result = self.inner.as_mut().poll(cx);
        let entry = (self.label, result.is_ready());
        self.log.lock().unwrap().push(entry);
        result
    }
}

#[test]
fn two_cpu_heavy_calls_on_one_thread_interleave() {
    futures::executor::block_on(async {
        // No timeout: two sieves take seconds of CPU in a debug build, and
        // what is checked here is the order of the polls, not the time.
        let plugin = test_plugin_builder(Limits::default().with_timeout(None))
            .build()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let a = Recorded {
            label: "a",
            log: Arc::clone(&log),
            inner: Box::pin(plugin.call("prime_sieve", json!([300_000]))),
        };
        let b = Recorded {
            label: "b",
            log: Arc::clone(&log),
            inner: Box::pin(plugin.call("prime_sieve", json!([300_000]))),
        };
        let (ra, rb) = futures::join!(a, b);
        assert_eq!(ra.unwrap()["count"], 25_997);
        assert_eq!(rb.unwrap()["count"], 25_997);

        // Every poll that returned Pending ran one fuel slice: before either
        // call finished, both must have run several.
        let log = log.lock().unwrap();
        let first_done = log.iter().position(|(_, done)| *done).unwrap();
        let slices = |label| {
            log[..first_done]
                .iter()
                .filter(|(l, _)| *l == label)
                .count()
        };
        assert!(
            slices("a") >= 3 && slices("b") >= 3,
            "a: {}, b: {}",
            slices("a"),
            slices("b")
        );
    });
}

/// A call future borrows nothing: it is spawned on tokio after the plugin
/// handle, the method name and the params it was made from are gone.
#[test]
fn call_futures_are_static_and_spawn_on_tokio() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (typed, value, raw) = {
            let plugin = test_plugin();
            let method = String::from("echo");
            let params = [1u64, 2];
            let typed = tokio::spawn(plugin.call_typed::<_, Vec<u64>>(&method, &params[..]));
            let value = tokio::spawn(plugin.call("ping", Value::Null));
            let raw_params = RawValue::from_string("[3]".to_owned()).unwrap();
            let raw = tokio::spawn(plugin.call_raw(&method, Some(raw_params)));
            (typed, value, raw)
        };
        assert_eq!(typed.await.unwrap().unwrap(), [1, 2]);
        assert_eq!(value.await.unwrap().unwrap(), "pong");
        assert_eq!(raw.await.unwrap().unwrap().get(), "[3]");
    });
}

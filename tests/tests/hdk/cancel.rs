//! Dropping a call future cancels the call and frees what it held.

use futures::FutureExt;
use serde_json::{Value, json};
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use wasplug_hdk::{Grants, HostContext, HostMethods, Plugin, RpcError};
use wasplug_tests::guests;

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_call_frees_its_instance_and_host_calls() {
    let dropped = Arc::new(AtomicBool::new(false));
    // `echo` never answers and holds a flag that is set when it is dropped.
    let methods = HostMethods::new(Arc::clone(&dropped)).method(
        "echo",
        |ctx: HostContext<Arc<AtomicBool>>, _: Value| {
            let flag = DropFlag(Arc::clone(ctx.state()));
            async move {
                let _flag = flag;
                futures::future::pending::<()>().await;
                Ok::<Value, RpcError>(Value::Null)
            }
        },
    );
    let plugin = Plugin::from_file(guests::TEST_PLUGIN)
        .host_methods(methods)
        .grants(Grants::all())
        .build()
        .unwrap();

    let mut call = Box::pin(plugin.call("many_echo", json!([1])));
    // One poll: the guest starts, calls `echo`, and waits for the answer.
    assert!(call.as_mut().now_or_never().is_none());
    assert!(!dropped.load(Ordering::SeqCst));
    drop(call);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the in-flight host call was not dropped"
    );

    // A sleeping call, dropped mid-sleep, does not disturb the next call.
    let mut sleeping = Box::pin(plugin.call("sleep", json!([60_000])));
    assert!(sleeping.as_mut().now_or_never().is_none());
    drop(sleeping);

    let pong = futures::executor::block_on(plugin.call("ping", Value::Null)).unwrap();
    assert_eq!(pong, "pong");
}

//! Every bound holds in every phase of a call: the module's start function,
//! the guest's run, waiting for notification handlers; the notification
//! queue is bounded; the memory limit counts tables and forgets a refusal
//! once the step that saw it is over.

use futures::FutureExt;
use serde_json::Value;
use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};
use wasmi::TrapCode;
use wasplug_hdk::{Error, ErrorKind, Grants, HostContext, HostMethods, Limits, Plugin};
use wasplug_tests::{guests, host::on_each_executor};

/// Generous: every call here ends in well under a second on a quiet machine.
const BOUND: Duration = Duration::from_secs(20);

fn wat_plugin(wat: &str, limits: Limits) -> Plugin {
    Plugin::builder(wat.as_bytes())
        .limits(limits)
        .build()
        .unwrap()
}

fn call_fails(plugin: &Plugin) -> (Error, Duration) {
    let started = Instant::now();
    let error = futures::executor::block_on(plugin.call("anything", Value::Null)).unwrap_err();
    (error, started.elapsed())
}

/// A start function that loops forever.
const START_LOOP: &str = r#"(module
  (memory (export "memory") 1)
  (func $forever (loop $again (br $again)))
  (start $forever)
  (func (export "_start")))"#;

#[test]
fn a_looping_start_function_uses_the_whole_fuel_budget() {
    // Far more than the 16 slices a start function was once capped at.
    let limit = 5_000_000;
    let plugin = wat_plugin(
        START_LOOP,
        Limits::default()
            .with_fuel(Some(limit))
            .with_fuel_slice(100_000),
    );
    let (error, took) = call_fails(&plugin);
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit: l } if *l == limit),
        "{error:?}"
    );
    assert!(took < BOUND, "took {took:?}");
}

#[test]
fn a_looping_start_function_without_a_budget_times_out() {
    let timeout = Duration::from_millis(300);
    let plugin = wat_plugin(
        START_LOOP,
        Limits::default()
            .with_fuel(None)
            .with_timeout(Some(timeout)),
    );
    let (error, took) = call_fails(&plugin);
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { limit } if *limit == timeout),
        "{error:?}"
    );
    assert!(took < BOUND, "took {took:?}");
}

#[test]
fn exit_signal_and_trap_in_a_start_function_keep_their_kind() {
    let exit = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func $init (call $exit (i32.const 7)))
      (start $init)
      (func (export "_start") unreachable))"#;
    let (error, _) = call_fails(&wat_plugin(exit, Limits::default()));
    assert!(
        matches!(error.kind(), ErrorKind::ExitWithoutAnswer { status: 7, .. }),
        "{error:?}"
    );

    let raise = r#"(module
      (import "wasi_snapshot_preview1" "proc_raise" (func $raise (param i32) (result i32)))
      (memory (export "memory") 1)
      (func $init (drop (call $raise (i32.const 6))))
      (start $init)
      (func (export "_start") unreachable))"#;
    let (error, _) = call_fails(&wat_plugin(raise, Limits::default()));
    assert!(
        matches!(error.kind(), ErrorKind::Signal { signal: 6, .. }),
        "{error:?}"
    );

    let trap = r#"(module
      (memory (export "memory") 1)
      (func $init (drop (i32.div_u (i32.const 1) (i32.const 0))))
      (start $init)
      (func (export "_start")))"#;
    let (error, _) = call_fails(&wat_plugin(trap, Limits::default()));
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Trap {
                code: Some(TrapCode::IntegerDivisionByZero),
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_module_with_two_memories_is_refused_when_it_loads() {
    let error = Plugin::builder(
        r#"(module (memory 1) (memory (export "memory") 1) (func (export "_start")))"#.as_bytes(),
    )
    .build()
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::InvalidModule { .. }),
        "{error:?}"
    );
}

#[test]
fn tables_count_toward_the_memory_limit() {
    // 1,000,000 elements count 8 MB: more than the 4 MiB allowed.
    let big_table = r#"(module
      (memory (export "memory") 1)
      (table 1000000 funcref)
      (func (export "_start")))"#;
    let (error, _) = call_fails(&wat_plugin(
        big_table,
        Limits::default().with_memory(Some(4 << 20)),
    ));
    assert!(
        matches!(error.kind(), ErrorKind::MemoryLimit { .. }),
        "{error:?}"
    );
    // Growing a table past it at run time is refused too (table.grow
    // returns -1, and this guest traps on that).
    let grows = r#"(module
      (memory (export "memory") 1)
      (table 1 funcref)
      (func (export "_start")
        (if (i32.lt_s (table.grow (ref.null func) (i32.const 1000000)) (i32.const 0))
          (then unreachable))))"#;
    let (error, _) = call_fails(&wat_plugin(
        grows,
        Limits::default().with_memory(Some(4 << 20)),
    ));
    assert!(
        matches!(error.kind(), ErrorKind::MemoryLimit { .. }),
        "{error:?}"
    );
}

#[test]
fn a_refused_memory_grow_does_not_taint_a_later_trap() {
    // Asks for far too much memory, copes with the refusal, computes for
    // many slices, then traps for another reason.
    let wat = r#"(module
      (memory (export "memory") 1)
      (func (export "_start") (local $i i32)
        (drop (memory.grow (i32.const 30000)))
        (loop $spin
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $spin (i32.lt_u (local.get $i) (i32.const 100000))))
        unreachable))"#;
    let (error, _) = call_fails(&wat_plugin(
        wat,
        Limits::default()
            .with_memory(Some(1 << 20))
            .with_fuel_slice(10_000),
    ));
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Trap {
                code: Some(TrapCode::UnreachableCodeReached),
                ..
            }
        ),
        "{error:?}"
    );
}

/// Pending once (waking itself), then ready: a handler that takes a turn.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Notification handlers made, finished, and the most made but not finished.
#[derive(Default)]
struct Queue {
    made: AtomicUsize,
    done: AtomicUsize,
    most_waiting: AtomicUsize,
    in_order: AtomicUsize,
}

#[test]
fn the_notification_queue_is_bounded_and_nothing_is_lost() {
    notifications_wait_at_most(Limits::default().with_max_notifications(4), 4);
}

#[test]
fn notifications_waiting_hold_at_most_a_line_limit() {
    // Each `progress` notification is a line of about 50 bytes.
    notifications_wait_at_most(Limits::default().with_max_line(256), 256 / 40 + 1);
}

/// Has the test plugin send 2000 notifications whose handlers each take a
/// turn, under `limits`: all are handled, in order, and at most `most`
/// wait at once.
fn notifications_wait_at_most(limits: Limits, most: usize) {
    on_each_executor(move || {
        let limits = limits.clone();
        async move {
            let queue = Arc::new(Queue::default());
            let methods = HostMethods::new(Arc::clone(&queue)).notification(
                "progress",
                |ctx: HostContext<Arc<Queue>>, [step]: [usize; 1]| {
                    let queue = Arc::clone(ctx.state());
                    let made = queue.made.fetch_add(1, Ordering::SeqCst) + 1;
                    let waiting = made - queue.done.load(Ordering::SeqCst);
                    queue.most_waiting.fetch_max(waiting, Ordering::SeqCst);
                    async move {
                        YieldOnce(false).await;
                        if queue.done.fetch_add(1, Ordering::SeqCst) == step {
                            queue.in_order.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                },
            );
            let plugin = Plugin::from_file(guests::TEST_PLUGIN)
                .limits(limits.clone())
                .host_methods(methods)
                .grants(Grants::all())
                .build()
                .unwrap();
            let n: usize = plugin.call_typed("notify", &[2000]).await.unwrap();
            assert_eq!(n, 2000);
            assert_eq!(queue.done.load(Ordering::SeqCst), 2000);
            assert_eq!(queue.in_order.load(Ordering::SeqCst), 2000);
            let waited = queue.most_waiting.load(Ordering::SeqCst);
            assert!(waited <= most, "{waited} notifications waited at once");
        }
    });
}

/// Host calls running, and the most that ran at once.
#[derive(Default)]
struct Gauge {
    running: AtomicUsize,
    most: AtomicUsize,
}

#[test]
fn host_calls_in_flight_hold_at_most_a_line_limit_of_requests() {
    // Each `echo` request of `concurrent_echo` is a line of 40-60 bytes: a
    // line limit of 256 lets a handful be held at once, where the host-call
    // limit (64) would let all 40 in.
    const MAX_LINE: usize = 256;
    on_each_executor(|| async {
        let gauge = Arc::new(Gauge::default());
        let methods = HostMethods::new(Arc::clone(&gauge)).method(
            "echo",
            |ctx: HostContext<Arc<Gauge>>, params: Value| {
                let gauge = Arc::clone(ctx.state());
                let running = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
                gauge.most.fetch_max(running, Ordering::SeqCst);
                async move {
                    YieldOnce(false).await;
                    gauge.running.fetch_sub(1, Ordering::SeqCst);
                    Ok(params)
                }
            },
        );
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .limits(Limits::default().with_max_line(MAX_LINE))
            .host_methods(methods)
            .grants(Grants::all())
            .build()
            .unwrap();
        let n: usize = plugin.call_typed("concurrent_echo", &[40]).await.unwrap();
        assert_eq!(n, 40);
        let most = gauge.most.load(Ordering::SeqCst);
        assert!(
            most <= MAX_LINE / 40 + 1,
            "{most} host calls were held at once"
        );
    });
}

#[test]
fn a_notification_handler_that_never_finishes_times_out() {
    let timeout = Duration::from_millis(300);
    let methods = HostMethods::new(())
        .notification("progress", |_ctx: HostContext<()>, _step: Value| {
            futures::future::pending::<()>().boxed()
        });
    times_out(methods, timeout, "notify");
}

/// Calls the test plugin's `method` with `[1]`, with `methods` granted and
/// `timeout`, and checks the call timed out, on time.
fn times_out<S: Send + Sync + 'static>(methods: HostMethods<S>, timeout: Duration, method: &str) {
    let plugin = Plugin::from_file(guests::TEST_PLUGIN)
        .limits(Limits::default().with_timeout(Some(timeout)))
        .host_methods(methods)
        .grants(Grants::all())
        .build()
        .unwrap();
    let started = Instant::now();
    let error =
        futures::executor::block_on(plugin.call(method, serde_json::json!([1]))).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { limit } if *limit == timeout),
        "{error:?}"
    );
    assert!(took >= timeout && took < BOUND, "took {took:?}");
}

/// Sets its flag when dropped.
struct DropFlag(Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A host method that never answers: the call ends at its timeout, and the
/// method's future is dropped with it (nothing of the call lives on).
#[test]
fn a_host_call_that_never_answers_times_out() {
    let timeout = Duration::from_millis(300);
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let methods = HostMethods::new(Arc::clone(&dropped)).method(
        "echo",
        |ctx: HostContext<Arc<std::sync::atomic::AtomicBool>>, _: Value| {
            let flag = DropFlag(Arc::clone(ctx.state()));
            async move {
                let _flag = flag;
                futures::future::pending::<()>().await;
                Ok::<Value, wasplug_hdk::RpcError>(Value::Null)
            }
        },
    );
    times_out(methods, timeout, "many_echo");
    assert!(dropped.load(Ordering::SeqCst), "the host call lives on");
}

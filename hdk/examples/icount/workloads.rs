//! The measured workloads: the same work as `benches/calls.rs`, one
//! iteration each, run `n` times in the process valgrind watches.

use futures::executor::block_on;
use serde_json::{Value, json};
use std::hint::black_box;
use wasplug_hdk::{Engine, Error, Grants, Limits, Plugin};
use wasplug_tests::host::echo_methods;

/// One measured workload.
pub(crate) struct Workload {
    /// Its name in the table and the baseline.
    pub(crate) name: &'static str,
    /// What one unit is (the count is per unit).
    pub(crate) unit: &'static str,
    /// Units of work in one iteration (a call of `many_echo(200)` is 200
    /// round trips).
    pub(crate) units_per_iteration: u64,
    /// Iterations of the shorter of the two runs (the longer runs twice as
    /// many): enough that the difference dwarfs any jitter, few enough to
    /// keep the runs under valgrind short.
    pub(crate) iterations: u64,
    /// One iteration.
    run: fn(&Fixture) -> Result<(), Error>,
}

/// Every workload, in table order.
pub(crate) const WORKLOADS: &[Workload] = &[
    Workload {
        name: "load",
        unit: "plugin_load (compile and validate the test plugin)",
        units_per_iteration: 1,
        iterations: 2,
        run: |fixture| fixture.load().map(drop),
    },
    Workload {
        name: "ping",
        unit: "call: an idle instance reset, one request and answer",
        units_per_iteration: 1,
        iterations: 10,
        run: |fixture| fixture.call("ping", Value::Null),
    },
    Workload {
        name: "ping_new_instance",
        unit: "the same with a new instance (idle_instances(0))",
        units_per_iteration: 1,
        iterations: 10,
        run: |fixture| block_on(fixture.no_idle.call("ping", Value::Null)).map(drop),
    },
    Workload {
        name: "round_trip",
        unit: "plugin->host round trip, in many_echo(200)",
        units_per_iteration: 200,
        iterations: 2,
        run: |fixture| fixture.call("many_echo", json!([200])),
    },
    Workload {
        name: "concurrent_round_trip",
        unit: "plugin->host round trip, in concurrent_echo(100)",
        units_per_iteration: 100,
        iterations: 2,
        run: |fixture| fixture.call("concurrent_echo", json!([100])),
    },
    Workload {
        name: "prime_sieve",
        unit: "call of prime_sieve(100000)",
        units_per_iteration: 1,
        iterations: 1,
        run: |fixture| fixture.call("prime_sieve", json!([100_000])),
    },
];

/// The workload named `name`.
pub(crate) fn find(name: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|workload| workload.name == name)
}

/// What every workload starts from: an engine, the test plugin's bytes and
/// the plugin loaded from them (with `echo`, as `benches/calls.rs` has it),
/// also without idle instances.
pub(crate) struct Fixture {
    engine: Engine,
    bytes: Vec<u8>,
    plugin: Plugin,
    no_idle: Plugin,
}

impl Fixture {
    /// Reads and loads the test plugin.
    pub(crate) fn new() -> Result<Self, String> {
        let path = wasplug_tests::guests::TEST_PLUGIN;
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let engine = Engine::new();
        let loaded =
            |idle| load(&engine, &bytes, idle).map_err(|e| format!("cannot load {path}: {e}"));
        let plugin = loaded(wasplug_wasi::IDLE_MAX)?;
        let no_idle = loaded(0)?;
        Ok(Self {
            engine,
            bytes,
            plugin,
            no_idle,
        })
    }

    fn load(&self) -> Result<Plugin, Error> {
        load(&self.engine, black_box(&self.bytes), wasplug_wasi::IDLE_MAX)
    }

    fn call(&self, method: &str, params: Value) -> Result<(), Error> {
        block_on(self.plugin.call(method, params)).map(drop)
    }
}

/// The test plugin from `bytes`, compiled into `engine`, keeping `idle`
/// instances.
fn load(engine: &Engine, bytes: &[u8], idle: usize) -> Result<Plugin, Error> {
    Plugin::builder(bytes)
        .engine(engine)
        .idle_instances(idle)
        .limits(Limits::default().with_host_calls(128))
        .host_methods(echo_methods())
        .grants(Grants::methods(["echo"]))
        .build()
}

impl Workload {
    /// Runs one iteration unmeasured (so lazily compiled functions and
    /// grown buffers are in place in both runs), then `iterations` more.
    pub(crate) fn run(&self, fixture: &Fixture, iterations: u64) -> Result<(), Error> {
        (self.run)(fixture)?;
        for _ in 0..iterations {
            (self.run)(fixture)?;
        }
        Ok(())
    }
}

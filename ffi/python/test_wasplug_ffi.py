"""End-to-end tests of the Python binding of wasplug-ffi (run by .ci/ffi).

The generated module `wasplug_ffi` and its library must be importable
(`PYTHONPATH`), and `WASPLUG_TEST_PLUGIN` must name the test plugin's .wasm.
`WASPLUG_WARM_TABLE` names the heavy-init plugin's (default: `warm-table.wasm`
beside the test plugin, where the workspace's guest build puts both).
"""

import asyncio
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from wasplug_ffi import (
    AsyncHostHandler,
    CancelToken,
    ErrorKind,
    HostError,
    HostHandler,
    InitReport,
    Limits,
    LoadOptions,
    LogHandler,
    Plugin,
    WasplugError,
    default_limits,
)

TEST_PLUGIN = os.environ["WASPLUG_TEST_PLUGIN"]
WARM_TABLE = os.environ.get("WASPLUG_WARM_TABLE") or os.path.join(
    os.path.dirname(TEST_PLUGIN), "warm-table.wasm"
)
# Generous hang-catcher: a debug build on a loaded 2-core machine.
HANG = 30.0

# A plugin that never answers: it writes "tick" to stderr after every
# 20000 loop iterations, forever, so a log handler sees whether it still runs.
TICKER = b"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "tick\\n")
  (func $spin (local $i i32)
    (local.set $i (i32.const 20000))
    (loop (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if 0 (local.get $i))))
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    (loop (call $spin) (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))) (br 0))))
"""


class Lines(LogHandler):
    """Collects the plugin's stderr lines."""

    def __init__(self):
        self.lines = []
        self.lock = threading.Lock()

    def log(self, plugin, line):
        with self.lock:
            self.lines.append((plugin, line))

    def count(self):
        with self.lock:
            return len(self.lines)


class Host(HostHandler):
    """`echo` and `double`; `refuse` throws a JSON-RPC error."""

    def __init__(self):
        self.calls = []

    def call(self, plugin, method, params_json):
        self.calls.append((plugin, method))
        params = json.loads(params_json)
        if method == "echo":
            return params_json
        if method == "double":
            return json.dumps(params[0] * 2)
        if method == "refuse":
            raise HostError.Rpc(-32001, "refused by the host", json.dumps({"why": "test"}))
        raise ValueError(f"unexpected method {method}")


class SlowHost(AsyncHostHandler):
    """`later`: answers its params after an asyncio sleep."""

    async def call(self, plugin, method, params_json):
        await asyncio.sleep(0.05)
        return params_json


def load(**options):
    return Plugin.from_file(TEST_PLUGIN, LoadOptions(**options))


def failure(call):
    with pytest.raises(WasplugError) as info:
        call()
    return info.value


def wait_until(predicate, what):
    deadline = time.monotonic() + HANG
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_blocking_and_async_calls_answer():
    plugin = load()
    assert plugin.name() == "test-plugin"
    assert plugin.call_blocking("ping", "null") == '"pong"'
    assert asyncio.run(plugin.call("ping", "null")) == '"pong"'
    assert "ping" in json.loads(plugin.manifest_json())["methods"]


def test_results_keep_every_number():
    plugin = load()
    big = "[18446744073709551617,1.0000000000000000001]"
    assert plugin.call_blocking("echo", big) == big


def test_limits_default_to_the_host_kits():
    assert Limits() == default_limits()
    plugin = load(limits=Limits(fuel=None, timeout_ms=5000))
    assert plugin.limits().fuel is None
    assert plugin.limits().timeout_ms == 5000


def test_host_methods_in_python():
    host = Host()
    plugin = load(name="p", host_methods=["echo", "double", "refuse"], host=host)
    assert plugin.call_blocking("call_host", '["double", [21]]') == "42"
    assert plugin.call_blocking("many_echo", "[20]") == "20"
    assert plugin.call_blocking("concurrent_echo", "[10]") == "10"
    assert ("p", "double") in host.calls
    # The host's error reaches the plugin, which answers with it.
    error = failure(lambda: plugin.call_blocking("call_host", '["refuse", []]'))
    assert error.kind == ErrorKind.PLUGIN
    assert error.code == -32001
    assert "refused by the host" in error.message
    # A method the plugin was not given answers -32601.
    error = failure(lambda: plugin.call_blocking("call_host", '["missing", []]'))
    assert error.code == -32601


def test_async_host_methods():
    plugin = load(async_host_methods=["later"], async_host=SlowHost())

    async def main():
        return await plugin.call("call_host", '["later", {"a": 1}]')

    assert json.loads(asyncio.run(main())) == {"a": 1}


def test_plugin_errors_carry_code_data_and_context():
    plugin = load(name="errs")
    error = failure(lambda: plugin.call_blocking("fail", "null"))
    assert isinstance(error, WasplugError.Failure)
    assert error.kind == ErrorKind.PLUGIN
    assert error.code == -32000
    assert error.message == "deliberate failure"
    assert json.loads(error.data_json) == {"reason": "the test asked for it", "retry": False}
    assert (error.plugin, error.method) == ("errs", "fail")


def test_a_panic_is_a_trap_with_the_stderr_tail():
    lines = Lines()
    plugin = load(log=lines)
    error = failure(lambda: plugin.call_blocking("panic", "null"))
    assert error.kind == ErrorKind.TRAP
    assert error.code is None
    assert any("deliberate panic" in line for line in error.stderr)
    assert any("deliberate panic" in line for _, line in lines.lines)


def test_the_log_handler_gets_stderr_lines():
    lines = Lines()
    plugin = load(name="logger", log=lines)
    assert plugin.call_blocking("log", "[3]") == "3"
    assert lines.lines == [("logger", f"log line {i}") for i in range(3)]


def test_config_args_and_env():
    plugin = load(config_json='{"colour": "blue"}', args=["-v"], env={"MODE": "test"})
    assert plugin.call_blocking("config", '["colour"]') == '"blue"'
    assert json.loads(plugin.call_blocking("args_env", "null")) == {
        "args": ["-v"],
        "env": {"MODE": "test"},
    }


def test_bad_params_and_bad_modules():
    plugin = load()
    assert failure(lambda: plugin.call_blocking("ping", '"text"')).kind == ErrorKind.INVALID_PARAMS
    assert failure(lambda: plugin.call_blocking("ping", "{nope")).kind == ErrorKind.JSON
    error = failure(lambda: Plugin.from_bytes(b"not wasm", LoadOptions()))
    assert error.kind == ErrorKind.INVALID_MODULE
    error = failure(lambda: Plugin.from_file("/nonexistent/x.wasm", LoadOptions()))
    assert error.kind == ErrorKind.IO
    error = failure(lambda: load(config_json="[1]"))
    assert error.kind == ErrorKind.JSON


def test_fuel_and_timeout_limits():
    plugin = load(limits=Limits(fuel=100_000))
    error = failure(lambda: plugin.call_blocking("prime_sieve", "[1000000]"))
    assert error.kind == ErrorKind.OUT_OF_FUEL
    assert "fuel budget of 100000" in error.message
    ticker = Plugin.from_bytes(TICKER, LoadOptions(limits=Limits(fuel=None, timeout_ms=200)))
    started = time.monotonic()
    error = failure(lambda: ticker.call_blocking("spin", "null"))
    assert error.kind == ErrorKind.TIMEOUT
    assert time.monotonic() - started < HANG


def test_concurrent_calls_on_threads_and_in_asyncio():
    plugin = load(host_methods=["echo"], host=Host())
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: plugin.call_blocking("many_echo", f"[{n}]"), range(8)))
    assert results == [str(n) for n in range(8)]

    async def main():
        calls = [plugin.call("prime_sieve", f"[{1000 * n}]") for n in range(1, 6)]
        return await asyncio.gather(*calls)

    counts = [json.loads(r)["count"] for r in asyncio.run(main())]
    assert counts == [168, 303, 430, 550, 669]


def unlimited_ticker(lines):
    limits = Limits(fuel=None, timeout_ms=None)
    return Plugin.from_bytes(TICKER, LoadOptions(name="ticker", limits=limits, log=lines))


def assert_stopped(lines):
    """The ticker writes no more lines: its call has ended."""
    before = lines.count()
    time.sleep(0.5)
    assert lines.count() == before, "the cancelled plugin still runs"


def test_a_cancel_token_stops_a_spinning_blocking_call():
    lines = Lines()
    plugin = unlimited_ticker(lines)
    token = CancelToken()
    outcome = {}

    def run():
        try:
            plugin.call_blocking("spin", "null", token)
        except WasplugError as error:
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: lines.count() >= 3, "the plugin to tick")
    cancelled_at = time.monotonic()
    token.cancel()
    thread.join(HANG)
    assert not thread.is_alive()
    assert time.monotonic() - cancelled_at < HANG
    assert outcome["error"].kind == ErrorKind.CANCELLED
    assert outcome["error"].method == "spin"
    assert token.is_cancelled()
    assert_stopped(lines)
    # A cancelled token cancels later calls at once.
    error = failure(lambda: plugin.call_blocking("spin", "null", token))
    assert error.kind == ErrorKind.CANCELLED


def test_cancelling_the_asyncio_task_drops_the_call():
    lines = Lines()
    plugin = unlimited_ticker(lines)

    async def main():
        task = asyncio.create_task(plugin.call("spin", "null"))
        while lines.count() < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, HANG)

    asyncio.run(main())
    assert_stopped(lines)


def test_a_cancel_token_stops_an_async_call():
    lines = Lines()
    plugin = unlimited_ticker(lines)
    token = CancelToken()

    async def main():
        task = asyncio.create_task(plugin.call("spin", "null", token))
        while lines.count() < 3:
            await asyncio.sleep(0.01)
        token.cancel()
        with pytest.raises(WasplugError) as info:
            await asyncio.wait_for(task, HANG)
        return info.value

    assert asyncio.run(main()).kind == ErrorKind.CANCELLED
    assert_stopped(lines)


def warm_table(**options):
    """The heavy-init plugin (tests/guests/rust/warm-table, its init
    lightened), with its stderr lines: only its init writes one."""
    if not os.path.isfile(WARM_TABLE):
        message = f"no heavy-init plugin at {WARM_TABLE} (cargo test --workspace --no-run builds it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    lines = Lines()
    options = LoadOptions(env={"WARM_ROUNDS": "2"}, log=lines, **options)
    return Plugin.from_file(WARM_TABLE, options), lines


def bump_answers_alike(plugin):
    """`bump` changes a static and the heap and answers what it saw before:
    the init's state in every call, one after another and in flight at
    once (more calls than idle instances)."""
    first = json.loads(plugin.call_blocking("bump", "null"))
    assert first[:2] == [0, 0]
    for _ in range(2):
        assert json.loads(plugin.call_blocking("bump", "null")) == first

    async def together():
        return await asyncio.gather(*(plugin.call("bump", "null") for _ in range(6)))

    assert [json.loads(answer) for answer in asyncio.run(together())] == [first] * 6


@pytest.mark.parametrize("idle_instances", [4, 0])
def test_a_warm_start_runs_the_init_once_and_calls_stay_stateless(idle_instances):
    plugin, lines = warm_table(idle_instances=idle_instances)
    bump_answers_alike(plugin)
    # The init ran once, at load: no call ran it again.
    assert lines.lines == [("warm-table", "warm-table: table built")]
    report = plugin.init_report()
    assert isinstance(report, InitReport)
    assert report.fuel_used > 100_000
    assert report.image_bytes >= 64 << 10  # the table
    assert report.memory_bytes >= report.image_bytes
    assert report.init_time_us > 0
    assert report.stderr == "warm-table: table built\n"


def test_without_a_warm_start_the_init_never_runs():
    plugin, lines = warm_table(warm_start=False)
    # Each call builds the table itself (slow in a debug build): two suffice.
    first = plugin.call_blocking("bump", "null")
    assert json.loads(first)[:2] == [0, 0]
    assert plugin.call_blocking("bump", "null") == first
    assert lines.lines == []
    assert plugin.init_report() is None
    assert load().init_report() is None  # no init at all


def test_load_options_default_to_the_host_kits():
    options = LoadOptions()
    assert options.warm_start is True
    assert options.idle_instances == 4
    assert options.max_module_bytes == 64 << 20


def test_max_module_bytes_caps_plugin_files():
    error = failure(lambda: load(max_module_bytes=1024))
    assert error.kind == ErrorKind.MODULE_TOO_LARGE
    with open(TEST_PLUGIN, "rb") as file:
        wasm = file.read()
    # Bytes already in memory are not held to it.
    assert Plugin.from_bytes(wasm, LoadOptions(max_module_bytes=1024)).name() == "plugin"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"idle_instances": -1}, ValueError),
        ({"idle_instances": 2**32}, ValueError),
        ({"idle_instances": 2.5}, TypeError),
        ({"idle_instances": "4"}, TypeError),
        ({"max_module_bytes": -1}, ValueError),
    ],
)
def test_option_values_out_of_range_are_refused(options, error):
    with pytest.raises(error, match="u32|u64|integer"):
        load(**options)


def test_http_allow_grants_http_fetch_to_its_hosts():
    # Nothing listens on port 1: a granted fetch fails to connect.
    params = '["http.fetch", {"url": "http://127.0.0.1:1/"}]'
    not_permitted = -32010
    assert failure(lambda: load().call_blocking("call_host", params)).code == not_permitted
    granted = failure(lambda: load(http_allow=["127.0.0.1:1"]).call_blocking("call_host", params))
    assert granted.kind == ErrorKind.PLUGIN
    assert granted.code not in (None, not_permitted)
    # An entry that is no host is refused, not dropped.
    error = failure(lambda: load(http_allow=["http://127.0.0.1:1/"]))
    assert error.kind == ErrorKind.INVALID_HOST
    assert "http_allow" in error.message

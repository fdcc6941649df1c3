// Type-checks the `wasplug` package's declarations (web/pkg, built by
// web/build.sh) the way a TypeScript web app uses them: `tsc -p .` here
// (strict, no output). The lines marked @ts-expect-error must stay errors,
// so the check fails if the declarations loosen to `any`. Never run.
import init, {
  type CallOptions,
  type HostMethod,
  type InitReport,
  type WasplugError,
  WebPlugin,
  type WebPluginOptions,
} from "wasplug";

export async function useThePackage(wasm: Uint8Array): Promise<number> {
  await init();
  const host: Record<string, HostMethod> = {
    echo: (params) => params,
    page_value: async () => "from the page",
  };
  const options: WebPluginOptions = {
    name: "test-plugin",
    host,
    onLog: (plugin: string, line: string) => console.info(`[${plugin}] ${line}`),
    timeoutMs: 30_000,
    fuelSlice: 200_000,
    fuel: Infinity,
    memoryBytes: 64 << 20,
    config: { colour: "blue", sizes: [1, 2] },
    args: ["-v"],
    env: { MODE: "test" },
    httpAllow: ["api.example.com", "127.0.0.1:8080"],
    warmStart: true,
    idleInstances: 2,
  };
  const plugin = new WebPlugin(wasm, options);
  const name: string = plugin.name;
  const report: InitReport | undefined = plugin.initReport;
  if (report !== undefined) {
    const numbers: number[] = [report.fuelUsed, report.memoryBytes, report.imageBytes, report.initTimeMs];
    console.info(name, numbers, report.stderr);
  }

  const controller = new AbortController();
  const callOptions: CallOptions = { signal: controller.signal, timeoutMs: 5_000 };
  try {
    const primes = (await plugin.call("prime_sieve", [100_000], callOptions)) as {
      count: number;
    };
    await plugin.call("ping");
    await plugin.call("echo", { any: "object" });
    return primes.count;
  } catch (thrown) {
    const error = thrown as WasplugError;
    const kind: string = error.kind;
    const stderr: string[] = error.stderr;
    const code: number | undefined = error.code;
    console.info(kind, stderr, code, error.data, error.plugin, error.method, error.message);
    return -1;
  } finally {
    plugin.free();
  }
}

export function misuses(wasm: Uint8Array, plugin: WebPlugin): void {
  // @ts-expect-error: timeoutMs is a number
  new WebPlugin(wasm, { timeoutMs: "5s" });
  // @ts-expect-error: a host method is a function
  new WebPlugin(wasm, { host: { echo: 42 } });
  // @ts-expect-error: onLog gets two strings
  new WebPlugin(wasm, { onLog: (line: number) => line });
  // @ts-expect-error: no such option
  new WebPlugin(wasm, { nmae: "typo" });
  // @ts-expect-error: warmStart is a boolean
  new WebPlugin(wasm, { warmStart: "yes" });
  // @ts-expect-error: idleInstances is a number
  new WebPlugin(wasm, { idleInstances: "4" });
  // @ts-expect-error: env holds strings
  new WebPlugin(wasm, { env: { MODE: 1 } });
  // @ts-expect-error: args are strings
  new WebPlugin(wasm, { args: "-v" });
  // @ts-expect-error: httpAllow is a list of hosts
  new WebPlugin(wasm, { httpAllow: "api.example.com" });
  // @ts-expect-error: the report may be missing
  void plugin.initReport.fuelUsed;
  // @ts-expect-error: the signal is an AbortSignal
  void plugin.call("ping", null, { signal: "stop" });
  // @ts-expect-error: the result is unknown until checked
  void plugin.call("ping").then((result) => result.length);
}

// The wasplug AssemblyScript kit's example plugin: the scenario every kit's
// example implements (ping, echo, add, fail, call_echo, notify, rpc.discover).
import { Result, call, json, manifest, method, noParams, notify, run } from "../assembly/index";

// Names the plugin; the kit's transform also writes it in the module's
// `wasplug_manifest` custom section.
manifest(`{"name":"as-example","version":"1.0.0","protocol":1,
  "description":"The wasplug AssemblyScript kit's example plugin",
  "methods":["ping","echo","add","fail","call_echo","notify"],
  "capabilities":["echo","progress"]}`);

method("ping", (params: string): Result => {
  const bad = noParams(params);
  return bad != null ? bad : Result.text("pong");
});

// The params back exactly as sent: unicode, numbers of any size, whitespace.
method("echo", (params: string): Result => Result.ok(params));

method(
  "add",
  (params: string): Result => {
    const args = json.elements(params);
    if (args == null || args.length != 2 || !json.isI64(args[0]) || !json.isI64(args[1])) {
      return Result.invalidParams("add takes [a, b], two integers");
    }
    const a = json.toI64(args[0]);
    const b = json.toI64(args[1]);
    const sum = a + b;
    // Overflow: the operands have the same sign and the sum another.
    if ((a ^ sum) & (b ^ sum) & i64.MIN_VALUE) {
      return Result.invalidParams("the sum does not fit in 64 bits");
    }
    return Result.ok(sum.toString());
  },
  `{"description":"Adds two integers","paramStructure":"by-position",
    "params":[{"name":"a","required":true,"schema":{"type":"integer"}},
              {"name":"b","required":true,"schema":{"type":"integer"}}],
    "result":{"name":"sum","schema":{"type":"integer"}}}`,
);

method("fail", (params: string): Result =>
  Result.error(-32000, "failed on purpose", `{"reason":"the scenario asks for it","retry":false}`),
);

// Calls the host's echo with its own params and answers what came back
// (the host's error too).
method("call_echo", (params: string): Result => call("echo", params == "null" ? null : params));

// Tells the host about its progress, then answers.
method("notify", (params: string): Result => {
  notify("progress", "[1]");
  return Result.text("notified");
});

run();

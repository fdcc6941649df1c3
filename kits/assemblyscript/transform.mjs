// An AssemblyScript compiler transform (`asc --transform`) that records a
// plugin's manifest in the module's `wasplug_manifest` custom section, with
// the protocol version in `wasplug_protocol` (docs/PROTOCOL.md §8): it takes
// the string literal given to the kit's `manifest(...)` at the top level of
// the entry file. No dependencies: asc gives a transform what it needs.

/** The literal text of a string or template literal without substitutions. */
function literal(node) {
  if (node == null) return null;
  if (typeof node.value === "string") return node.value;
  if (Array.isArray(node.parts) && node.parts.length === 1 && node.expressions?.length === 0) {
    return node.parts[0];
  }
  return null;
}

/** The name a call calls: `manifest(...)` or `wasplug.manifest(...)`. */
function calleeName(call) {
  const callee = call?.expression;
  return callee?.property?.text ?? callee?.text ?? null;
}

export default class WasplugManifest {
  afterParse(parser) {
    const found = [];
    for (const source of parser.sources) {
      // SourceKind: 0 user file, 1 user entry; 2 and 3 are the library's.
      if (source.sourceKind !== 1) continue;
      for (const statement of source.statements) {
        const call = statement.expression;
        if (!call || !Array.isArray(call.args) || calleeName(call) !== "manifest") continue;
        const text = literal(call.args[0]);
        if (text == null) {
          throw new Error(`${source.normalizedPath}: manifest() takes a string literal`);
        }
        found.push({ path: source.normalizedPath, text });
      }
    }
    if (found.length > 1) {
      throw new Error(`manifest() is called ${found.length} times: ${found.map(f => f.path)}`);
    }
    if (found.length === 0) {
      this.log("wasplug: no manifest(...) in the entry file: no wasplug_manifest section");
      return;
    }
    let manifest;
    try {
      manifest = JSON.parse(found[0].text);
    } catch (e) {
      throw new Error(`${found[0].path}: the manifest is not JSON: ${e.message}`);
    }
    if (typeof manifest?.name !== "string" || manifest.name === "") {
      throw new Error(`${found[0].path}: the manifest needs a "name"`);
    }
    if (manifest.protocol !== 1) {
      throw new Error(`${found[0].path}: the manifest's "protocol" must be 1`);
    }
    // One line, as compact as JSON.stringify makes it.
    this.manifest = JSON.stringify(manifest);
  }

  afterCompile(module) {
    if (this.manifest === undefined) return;
    const utf8 = new TextEncoder();
    module.addCustomSection("wasplug_manifest", utf8.encode(this.manifest));
    module.addCustomSection("wasplug_protocol", utf8.encode("1"));
  }
}

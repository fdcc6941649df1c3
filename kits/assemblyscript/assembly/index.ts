// The wasplug AssemblyScript kit: the JSON-RPC envelope of a wasplug plugin
// (docs/PROTOCOL.md, protocol 1), so that a plugin is a set of functions that
// take their params as JSON text and return a `Result`.
//
// Build with @assemblyscript/wasi-shim (it makes `_start` and routes `abort`
// to WASI); see ../README.md.

// ---------------------------------------------------------------------------
// WASI: the three functions the kit needs.

@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: u32, iovs: usize, iovsLen: usize, nread: usize): u16;

@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;

/** One iovec (pointer, length) and the count of bytes moved. */
const scratch = memory.data(16);

/** Writes all of `data` to `fd`; false when it cannot. */
function writeAll(fd: u32, data: ArrayBuffer): bool {
  let ptr = changetype<usize>(data);
  let left = <usize>data.byteLength;
  while (left > 0) {
    store<usize>(scratch, ptr);
    store<usize>(scratch, left, 4);
    if (fd_write(fd, scratch, 1, scratch + 8) != 0) return false;
    const written = load<usize>(scratch, 8);
    if (written == 0) return false;
    ptr += written;
    left -= written;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Public API.

/** JSON-RPC error codes of the protocol (docs/PROTOCOL.md §6). */
export const PARSE_ERROR: i32 = -32700;
export const INVALID_REQUEST: i32 = -32600;
export const METHOD_NOT_FOUND: i32 = -32601;
export const INVALID_PARAMS: i32 = -32602;
export const INTERNAL_ERROR: i32 = -32603;

/**
 * The outcome of a method, or of a host call: a result (JSON text) or an
 * error (code, message, data as JSON text or null).
 */
export class Result {
  constructor(
    /** Whether this is a result rather than an error. */
    public isOk: bool,
    /** The result, as JSON text (when `isOk`). */
    public json: string,
    /** The error's code (when not `isOk`). */
    public code: i32,
    /** The error's message (when not `isOk`). */
    public message: string,
    /** The error's data, as JSON text, or null (when not `isOk`). */
    public data: string | null,
  ) {}

  /** A result: `json` is JSON text, written as it is. */
  static ok(json: string): Result {
    return new Result(true, json, 0, "", null);
  }

  /** A string result (quoted for you). */
  static text(value: string): Result {
    return Result.ok(json.quote(value));
  }

  /** An error; `data` is JSON text, or null for none. */
  static error(code: i32, message: string, data: string | null = null): Result {
    return new Result(false, "null", code, message, data);
  }

  /** A -32602 "Invalid params" error whose data says why (plain text). */
  static invalidParams(why: string): Result {
    return Result.error(INVALID_PARAMS, "Invalid params", json.quote(why));
  }
}

/** A method: it gets its params as JSON text (`null` when absent). */
export type Handler = (params: string) => Result;

const names = new Array<string>();
const handlers = new Array<Handler>();
const docs = new Array<string | null>();
let manifestText = "{}";

/**
 * Names the plugin from its manifest (JSON text: `name`, `version`,
 * `description` are used for `rpc.discover`). Call it at the top level with
 * a string literal: the kit's transform (`transform.mjs`) also records it in
 * the module's `wasplug_manifest` custom section.
 */
export function manifest(text: string): void {
  // Read when rpc.discover asks: a plugin's start is paid on every call.
  manifestText = text;
}

/**
 * Registers the method `name`. `doc`, if given, is the JSON text of more
 * members of its `rpc.discover` entry (`{"description": ..., "params": [...]}`).
 */
export function method(name: string, handler: Handler, doc: string | null = null): void {
  names.push(name);
  handlers.push(handler);
  docs.push(doc);
}

/** Answers `Result.invalidParams` unless `params` is absent, `[]` or `{}`. */
export function noParams(params: string): Result | null {
  if (params == "null" || json.length(params) == 0) return null;
  return Result.invalidParams("this method takes no params");
}

/** Whether `params` may be sent: null (none), or an array or object. */
function sendable(params: string | null): bool {
  if (params == null) return true;
  const k = json.kind(params);
  return k == json.ARRAY || k == json.OBJECT;
}

/**
 * Calls the host's method `method` and waits for its answer: the host's
 * result or error. `params` is an array or object as JSON text, or null.
 * Requests that arrive meanwhile are served after the current one.
 */
export function call(method: string, params: string | null = null): Result {
  if (!sendable(params)) {
    return Result.error(INTERNAL_ERROR, "host call params must be an array or an object", json.quote(method));
  }
  const id = ++lastCallId;
  const idText = id.toString();
  let line = '{"jsonrpc":"2.0","id":' + idText + ',"method":' + json.quote(method);
  if (params != null) line += ',"params":' + oneLine(params);
  send(line + "}");
  while (true) {
    const next = readLine();
    if (next == null) {
      return Result.error(INTERNAL_ERROR, "stdin ended before the host answered");
    }
    const m = parseMessage(next);
    if (m.kind == KIND_RESPONSE) {
      if (m.id == idText) return responseResult(m);
      log("wasplug: ignored an answer to id " + m.id + ", which is not in flight");
    } else {
      queue.push(next);
    }
  }
}

/**
 * Sends the host a notification; `params` is an array or object as JSON
 * text, or null. False (and nothing sent) when `params` is neither.
 */
export function notify(method: string, params: string | null = null): bool {
  if (!sendable(params)) {
    log("wasplug: not sent: the params of notification " + method + " are not an array or object");
    return false;
  }
  let line = '{"jsonrpc":"2.0","method":' + json.quote(method);
  if (params != null) line += ',"params":' + oneLine(params);
  send(line + "}");
  return true;
}

/** Writes a line on stderr, the plugin's log (never stdout: that is the protocol). */
export function log(message: string): void {
  writeAll(2, String.UTF8.encode(message + "\n"));
}

/** Serves stdin's requests until it ends. */
export function run(): void {
  while (true) {
    // Between two requests nothing but globals refers to managed objects, so
    // this is where the `minimal` runtime's collector may run (it scans only
    // globals); with the `stub` runtime it does nothing.
    __collect();
    let line: string | null;
    if (queueHead < queue.length) {
      line = queue[queueHead++];
      if (queueHead == queue.length) {
        queue.length = 0;
        queueHead = 0;
      }
    } else {
      line = readLine();
    }
    if (line == null) return;
    serve(line);
  }
}

// ---------------------------------------------------------------------------
// Reading stdin, line by line.

let inBuf = new ArrayBuffer(4096);
let inStart = 0;
let inEnd = 0;
let inEof = false;
/** Lines read while a host call waited, to serve after it. */
const queue = new Array<string>();
let queueHead = 0;
let lastCallId: u32 = 0;

/** What a line that is not UTF-8 becomes: not JSON, so answered -32700. */
const NOT_UTF8 = "\u0000 (not UTF-8)";

/** The next line of stdin, without its `\n` (and `\r`); null at its end. */
function readLine(): string | null {
  let scan = inStart;
  while (true) {
    const base = changetype<usize>(inBuf);
    for (; scan < inEnd; scan++) {
      if (load<u8>(base + <usize>scan) == 0x0a) {
        const line = decodeLine(base + <usize>inStart, scan - inStart);
        inStart = scan + 1;
        return line;
      }
    }
    if (inEof) {
      if (inStart == inEnd) return null;
      const line = decodeLine(base + <usize>inStart, inEnd - inStart);
      inStart = inEnd;
      return line;
    }
    // Make room: move what is left to the front, or grow.
    if (inStart > 0) {
      memory.copy(base, base + <usize>inStart, <usize>(inEnd - inStart));
      inEnd -= inStart;
      scan -= inStart;
      inStart = 0;
    } else if (inEnd == inBuf.byteLength) {
      const bigger = new ArrayBuffer(inBuf.byteLength << 1);
      memory.copy(changetype<usize>(bigger), base, <usize>inEnd);
      inBuf = bigger;
    }
    const room = inBuf.byteLength - inEnd;
    store<usize>(scratch, changetype<usize>(inBuf) + <usize>inEnd);
    store<usize>(scratch, <usize>room, 4);
    if (fd_read(0, scratch, 1, scratch + 8) != 0) {
      inEof = true;
    } else {
      const got = <i32>load<usize>(scratch, 8);
      if (got == 0) inEof = true;
      inEnd += got;
    }
  }
}

function decodeLine(ptr: usize, len: i32): string {
  if (len > 0 && load<u8>(ptr + <usize>(len - 1)) == 0x0d) len--;
  if (!validUtf8(ptr, len)) return NOT_UTF8;
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

/** Whether `len` bytes at `ptr` are UTF-8 (no overlongs, no surrogates). */
function validUtf8(ptr: usize, len: i32): bool {
  let i = 0;
  while (i < len) {
    const b = <u32>load<u8>(ptr + <usize>i);
    if (b < 0x80) {
      i++;
      continue;
    }
    let n = 0;
    let min: u32 = 0;
    let c: u32 = 0;
    if ((b & 0xe0) == 0xc0) {
      n = 1; min = 0x80; c = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      n = 2; min = 0x800; c = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      n = 3; min = 0x10000; c = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= len) return false; // cut short
    for (let k = 1; k <= n; k++) {
      const cont = <u32>load<u8>(ptr + <usize>(i + k));
      if ((cont & 0xc0) != 0x80) return false;
      c = (c << 6) | (cont & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Writing.

/** Writes one message line, at once (the host may stop the plugin any time after). */
function send(message: string): void {
  if (!writeAll(1, String.UTF8.encode(message + "\n"))) {
    log("wasplug: cannot write to stdout");
  }
}

/**
 * `text` as one line: raw line breaks can only be whitespace between tokens
 * in valid JSON, so they become spaces.
 */
function oneLine(text: string): string {
  if (text.indexOf("\n") < 0 && text.indexOf("\r") < 0) return text;
  return text.replaceAll("\n", " ").replaceAll("\r", " ");
}

function answerResult(id: string, result: Result): void {
  if (result.isOk) {
    if (!json.valid(result.json)) {
      log("wasplug: a handler's result is not JSON: " + result.json);
      answerError(id, INTERNAL_ERROR, "the method's result is not JSON", null);
      return;
    }
    send('{"jsonrpc":"2.0","id":' + id + ',"result":' + oneLine(result.json) + "}");
    return;
  }
  let data = result.data;
  if (data != null && !json.valid(data)) {
    log("wasplug: an error's data is not JSON: " + data);
    data = null;
  }
  answerError(id, result.code, result.message, data);
}

function answerError(id: string, code: i32, message: string, data: string | null): void {
  let line = '{"jsonrpc":"2.0","id":' + id + ',"error":{"code":' + code.toString() +
    ',"message":' + json.quote(message);
  if (data != null) line += ',"data":' + oneLine(data);
  send(line + "}}");
}

// ---------------------------------------------------------------------------
// Messages.

const KIND_NOT_JSON = 0;
const KIND_BATCH = 1;
const KIND_INVALID = 2;
const KIND_REQUEST = 3;
const KIND_NOTIFICATION = 4;
const KIND_RESPONSE = 5;

/** One line, read: its kind and the raw text of the envelope's members. */
class Message {
  kind: i32 = KIND_INVALID;
  /** The id to answer with: the request's id as written, or `null`. */
  id: string = "null";
  method: string | null = null;
  params: string | null = null;
  result: string | null = null;
  error: string | null = null;
  /** Why the line is invalid. */
  why: string = "";
}

function invalid(m: Message, why: string): Message {
  m.kind = KIND_INVALID;
  m.why = why;
  return m;
}

/** A request id: a string, or a non-negative integer (docs/PROTOCOL.md P-3). */
function validId(text: string): bool {
  const c = text.charCodeAt(0);
  if (c == 0x22) return true;
  if (c < 0x30 || c > 0x39) return false;
  for (let i = 1; i < text.length; i++) {
    const d = text.charCodeAt(i);
    if (d < 0x30 || d > 0x39) return false;
  }
  return true;
}

function parseMessage(line: string): Message {
  const m = new Message();
  const members = json.members(line);
  if (members == null) {
    const k = json.kind(line);
    if (k == json.NONE) {
      m.kind = KIND_NOT_JSON;
    } else {
      m.kind = k == json.ARRAY ? KIND_BATCH : KIND_INVALID;
      m.why = k == json.ARRAY ? "batches are not supported" : "not a JSON object";
    }
    return m;
  }
  let jsonrpc: string | null = null;
  let id: string | null = null;
  let method: string | null = null;
  for (let i = 0; i + 1 < members.length; i += 2) {
    const key = members[i];
    const value = members[i + 1];
    if (key == "jsonrpc") jsonrpc = value;
    else if (key == "id") id = value;
    else if (key == "method") method = value;
    else if (key == "params") m.params = value;
    else if (key == "result") m.result = value;
    else if (key == "error") m.error = value;
  }
  const hasId = id != null;
  const idOk = hasId && validId(id!);
  if (method != null && idOk) m.id = id!;
  if (jsonrpc == null || (jsonrpc != '"2.0"' && json.unquote(jsonrpc) != "2.0")) return invalid(m, 'jsonrpc must be "2.0"');
  if (method == null) {
    if (hasId && (m.result != null) != (m.error != null)) {
      m.id = id!;
      m.kind = KIND_RESPONSE;
      return m;
    }
    return invalid(m, "no method");
  }
  if (hasId && !idOk) return invalid(m, "an id must be a string or a non-negative integer");
  const name = method.length > 1 && method.indexOf("\\") < 0 && method.charCodeAt(0) == 0x22
    ? method.substring(1, method.length - 1)
    : json.unquote(method);
  if (name == null) return invalid(m, "the method must be a string");
  m.method = name;
  if (m.params != null) {
    // The line is valid JSON: the first character says the kind.
    const c = m.params!.charCodeAt(0);
    if (c != 0x5b && c != 0x7b) return invalid(m, "params must be an array or an object");
  }
  m.kind = hasId ? KIND_REQUEST : KIND_NOTIFICATION;
  return m;
}

/** The `Result` of a host's answer to a host call. */
function responseResult(m: Message): Result {
  if (m.error == null) return Result.ok(m.result!);
  const e = m.error!;
  const code = json.get(e, "code");
  const message = json.get(e, "message");
  const text = message != null ? json.unquote(message) : null;
  if (code == null || !json.isI64(code) || text == null) {
    return Result.error(INTERNAL_ERROR, "the host's error is malformed", e);
  }
  return Result.error(<i32>json.toI64(code), text, json.get(e, "data"));
}

/** Handles one line from the host. */
function serve(line: string): void {
  if (json.isBlank(line)) return;
  const m = parseMessage(line);
  switch (m.kind) {
    case KIND_NOT_JSON:
      answerError("null", PARSE_ERROR, "Parse error", null);
      return;
    case KIND_BATCH:
      answerError("null", INVALID_REQUEST, "batches are not supported", null);
      return;
    case KIND_INVALID:
      answerError(m.id, INVALID_REQUEST, "Invalid request", json.quote(m.why));
      return;
    case KIND_RESPONSE:
      log("wasplug: ignored an answer to id " + m.id + ", which is not in flight");
      return;
  }
  const name = m.method!;
  const params = m.params != null ? m.params! : "null";
  let result: Result;
  if (name == "rpc.discover") {
    result = Result.ok(discover());
  } else {
    const index = names.indexOf(name);
    if (index < 0) {
      result = Result.error(METHOD_NOT_FOUND, "Method not found", json.quote(name));
    } else {
      result = handlers[index](params);
    }
  }
  if (m.kind == KIND_REQUEST) answerResult(m.id, result);
}

/** The `rpc.discover` document (docs/PROTOCOL.md §7). */
function discover(): string {
  const name = json.get(manifestText, "name");
  const version = json.get(manifestText, "version");
  const description = json.get(manifestText, "description");
  let doc = '{"openrpc":"1.3.2","info":{"title":' + (name != null ? name : '""') +
    ',"version":' + (version != null ? version : '""') + ',"x-wasplug-protocol":1';
  if (description != null) doc += ',"description":' + description;
  doc += '},"methods":[';
  for (let i = 0; i < names.length; i++) {
    doc += '{"name":' + json.quote(names[i]);
    const more = docs[i];
    if (more != null) {
      const inner = more.trim();
      if (inner.length > 2 && json.kind(inner) == json.OBJECT) {
        doc += "," + oneLine(inner.substring(1, inner.length - 1));
      }
    }
    doc += "},";
  }
  return doc + '{"name":"rpc.discover"}],"components":{"schemas":{}}}';
}

// ---------------------------------------------------------------------------
// JSON text helpers: a validating scanner, no tree.

/**
 * Reading JSON text without a parser: every function takes JSON text and
 * answers spans of it, so numbers of any size and strings stay exact.
 */
export namespace json {
  /** Kinds of values, as `kind` answers. */
  export const NONE = 0;
  export const NULL = 1;
  export const BOOL = 2;
  export const NUMBER = 3;
  export const STRING = 4;
  export const ARRAY = 5;
  export const OBJECT = 6;

  /** The deepest nesting the scanner accepts. */
  export const MAX_DEPTH = 64;

  let s = "";
  let p = 0;

  @inline function at(i: i32): i32 {
    return i < s.length ? <i32>load<u16>(changetype<usize>(s) + (<usize>i << 1)) : -1;
  }

  function skipSpace(): void {
    while (true) {
      const c = at(p);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
      p++;
    }
  }

  function digits(): bool {
    const start = p;
    while (at(p) >= 0x30 && at(p) <= 0x39) p++;
    return p > start;
  }

  function scanString(): bool {
    p++; // the opening quote
    while (true) {
      const c = at(p++);
      if (c == 0x22) return true;
      if (c < 0x20) return false; // control character, or the end
      if (c == 0x5c) {
        const e = at(p++);
        if (e == 0x75) {
          for (let k = 0; k < 4; k++) {
            const h = at(p++);
            const hex = (h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66);
            if (!hex) return false;
          }
        } else if (
          e != 0x22 && e != 0x5c && e != 0x2f && e != 0x62 && e != 0x66 &&
          e != 0x6e && e != 0x72 && e != 0x74
        ) {
          return false;
        }
      }
    }
  }

  function scanNumber(): bool {
    if (at(p) == 0x2d) p++;
    if (at(p) == 0x30) p++;
    else if (!digits()) return false;
    if (at(p) == 0x2e) {
      p++;
      if (!digits()) return false;
    }
    const e = at(p);
    if (e == 0x65 || e == 0x45) {
      p++;
      const sign = at(p);
      if (sign == 0x2b || sign == 0x2d) p++;
      if (!digits()) return false;
    }
    return true;
  }

  function word(w: string): bool {
    for (let i = 0; i < w.length; i++) {
      if (at(p + i) != w.charCodeAt(i)) return false;
    }
    p += w.length;
    return true;
  }

  /** Scans one value at `p` (no leading space); false if it is not JSON. */
  function scanValue(depth: i32): bool {
    const c = at(p);
    if (c == 0x22) return scanString();
    if (c == 0x7b || c == 0x5b) {
      if (depth >= MAX_DEPTH) return false;
      const close = c == 0x7b ? 0x7d : 0x5d;
      p++;
      skipSpace();
      if (at(p) == close) {
        p++;
        return true;
      }
      while (true) {
        if (c == 0x7b) {
          if (at(p) != 0x22 || !scanString()) return false;
          skipSpace();
          if (at(p) != 0x3a) return false;
          p++;
          skipSpace();
        }
        if (!scanValue(depth + 1)) return false;
        skipSpace();
        const sep = at(p++);
        if (sep == close) return true;
        if (sep != 0x2c) return false;
        skipSpace();
      }
    }
    if (c == 0x74) return word("true");
    if (c == 0x66) return word("false");
    if (c == 0x6e) return word("null");
    return scanNumber();
  }

  /** Whether `text` is exactly one JSON value (with whitespace around). */
  export function valid(text: string): bool {
    s = text;
    p = 0;
    skipSpace();
    if (!scanValue(0)) return false;
    skipSpace();
    return p == s.length;
  }

  /** Whether `text` holds only whitespace. */
  export function isBlank(text: string): bool {
    s = text;
    p = 0;
    skipSpace();
    return p == s.length;
  }

  /** The kind of the value `text` holds, `NONE` if it is not JSON. */
  export function kind(text: string): i32 {
    if (!valid(text)) return NONE;
    p = 0;
    skipSpace();
    return kindAt();
  }

  /** The kind of the valid value at `p`. */
  function kindAt(): i32 {
    const c = at(p);
    if (c == 0x7b) return OBJECT;
    if (c == 0x5b) return ARRAY;
    if (c == 0x22) return STRING;
    if (c == 0x6e) return NULL;
    if (c == 0x74 || c == 0x66) return BOOL;
    return NUMBER;
  }

  /**
   * The parts of the container `text` opened by `open` and closed by `close`:
   * for an object, [key, value, key, value, ...] (keys decoded); for an
   * array, its elements. Values are JSON text. Null if `text` is not one.
   */
  function parts(text: string, open: i32, close: i32): string[] | null {
    if (!valid(text)) return null;
    p = 0;
    skipSpace();
    if (at(p++) != open) return null;
    skipSpace();
    const out = new Array<string>();
    if (at(p) == close) {
      p++;
      return out;
    }
    while (true) {
      if (open == 0x7b) {
        const keyStart = p;
        scanString();
        out.push(unescapeLiteral(text.substring(keyStart, p)));
        skipSpace();
        p++; // :
        skipSpace();
      }
      const valueStart = p;
      scanValue(1);
      out.push(text.substring(valueStart, p));
      skipSpace();
      if (at(p++) == close) return out;
      skipSpace();
    }
  }

  /**
   * The members of the object `text` as [key, value, key, value, ...]: keys
   * decoded, values as JSON text. Null if `text` is not a JSON object.
   */
  export function members(text: string): string[] | null {
    return parts(text, 0x7b, 0x7d);
  }

  /** The elements of the array `text`, each as JSON text; null if it is not an array. */
  export function elements(text: string): string[] | null {
    return parts(text, 0x5b, 0x5d);
  }

  /** The member `key` of the object `text`, as JSON text; null if absent. */
  export function get(text: string, key: string): string | null {
    const all = members(text);
    if (all == null) return null;
    for (let i = 0; i + 1 < all.length; i += 2) {
      if (all[i] == key) return all[i + 1];
    }
    return null;
  }

  /** Element `index` of the array `text`, as JSON text; null if absent. */
  export function item(text: string, index: i32): string | null {
    const all = elements(text);
    if (all == null || index < 0 || index >= all.length) return null;
    return all[index];
  }

  /** The number of elements of an array or members of an object; -1 for other values. */
  export function length(text: string): i32 {
    const k = kind(text);
    if (k == ARRAY) return elements(text)!.length;
    if (k == OBJECT) return members(text)!.length >> 1;
    return -1;
  }

  /** Whether `text` is an integer that fits in an i64 (no fraction, no exponent). */
  export function isI64(text: string): bool {
    const t = text.trim();
    if (kind(t) != NUMBER) return false;
    const negative = t.charCodeAt(0) == 0x2d;
    const start = negative ? 1 : 0;
    let value: u64 = 0;
    for (let i = start; i < t.length; i++) {
      const d = t.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return false;
      if (value > (u64.MAX_VALUE - <u64>d) / 10) return false;
      value = value * 10 + <u64>d;
    }
    return negative ? value <= (<u64>i64.MAX_VALUE) + 1 : value <= <u64>i64.MAX_VALUE;
  }

  /** The integer `text` holds; 0 unless `isI64(text)`. */
  export function toI64(text: string): i64 {
    if (!isI64(text)) return 0;
    const t = text.trim();
    const negative = t.charCodeAt(0) == 0x2d;
    let value: u64 = 0;
    for (let i = negative ? 1 : 0; i < t.length; i++) {
      value = value * 10 + <u64>(t.charCodeAt(i) - 0x30);
    }
    return negative ? <i64>(0 - value) : <i64>value;
  }

  /** The string `text` holds, unescaped; null if it is not a JSON string. */
  export function unquote(text: string): string | null {
    if (kind(text) != STRING) return null;
    return unescapeLiteral(text.trim());
  }

  /** The string a valid JSON string literal `t` (no space around) holds. */
  function unescapeLiteral(t: string): string {
    if (t.indexOf("\\") < 0) return t.substring(1, t.length - 1);
    let out = "";
    let i = 1;
    const end = t.length - 1;
    while (i < end) {
      const c = t.charCodeAt(i++);
      if (c != 0x5c) {
        out += String.fromCharCode(c);
        continue;
      }
      const e = t.charCodeAt(i++);
      if (e == 0x75) {
        out += String.fromCharCode(<i32>parseInt(t.substring(i, i + 4), 16));
        i += 4;
      } else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else out += String.fromCharCode(e);
    }
    return out;
  }

  /** `value` as a JSON string (quoted and escaped). */
  export function quote(value: string): string {
    let out = '"';
    let from = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
      out += value.substring(from, i);
      from = i + 1;
      if (c == 0x22) out += '\\"';
      else if (c == 0x5c) out += "\\\\";
      else if (c == 0x0a) out += "\\n";
      else if (c == 0x0d) out += "\\r";
      else if (c == 0x09) out += "\\t";
      else out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    }
    return out + value.substring(from) + '"';
  }
}

//! The wasplug Zig kit: write a wasplug plugin (wasm32-wasi) in Zig.
//!
//! A plugin's methods are the public functions of a struct, each
//! `fn (ctx: *Ctx, params: P) !R`; params are parsed and results written
//! with `std.json`. `Raw` takes or gives JSON text unchanged.
//!
//!     const Methods = struct {
//!         pub fn add(_: *wasplug.Ctx, p: [2]i64) !i64 {
//!             return p[0] + p[1];
//!         }
//!     };
//!     pub fn main(init: std.process.Init) !void {
//!         try wasplug.run(Methods, "adder", "1.0.0", init);
//!     }
//!
//! One request is handled at a time. A host call (`ctx.call`) writes its
//! request and reads stdin until the answer comes, handling the requests
//! that arrive meanwhile first (re-entrantly).
const std = @import("std");
const Io = std.Io;
const Allocator = std.mem.Allocator;

/// The wasplug protocol version this kit speaks.
pub const protocol_version = 1;

// The `wasplug_protocol` custom section (the version as ASCII digits), which
// the host reads before running anything: written with the assembler's
// `.custom_section` directive, since Zig has no attribute for it.
comptime {
    asm (
        \\.section .custom_section.wasplug_protocol,"",@
        \\.ascii "1"
    );
}

pub const parse_error = -32700;
pub const invalid_request = -32600;
pub const method_not_found = -32601;
pub const invalid_params = -32602;
pub const internal_error = -32603;

/// The longest line the kit reads (bytes); a longer one ends the plugin.
pub const max_line = 256 * 1024;

/// The assembly that records `json` as the plugin's manifest, in the
/// `wasplug_manifest` custom section the host reads before running anything:
///
///     comptime {
///         asm (wasplug.manifestSection(
///             \\{"name":"adder","version":"1.0.0","protocol":1,"methods":["add"]}
///         ));
///     }
pub fn manifestSection(comptime json: []const u8) []const u8 {
    comptime {
        var escaped: []const u8 = "";
        for (json) |c| escaped = escaped ++ switch (c) {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            else => &[_]u8{c},
        };
        return ".section .custom_section.wasplug_manifest,\"\",@\n.ascii \"" ++ escaped ++ "\"\n";
    }
}

/// JSON text, taken or given unchanged (numbers of any size, any Unicode).
pub const Raw = struct { json: []const u8 };

/// The params type of a method that takes none: absent, `null`, `[]` or `{}`.
pub const NoParams = struct {};

/// A JSON-RPC error: `data` is JSON text, or null for none.
pub const RpcError = struct {
    code: i64,
    message: []const u8,
    data: ?[]const u8 = null,
};

/// What a handler gets besides its params: an arena freed after the answer,
/// host calls and notifications, and the error to answer with.
pub const Ctx = struct {
    /// Freed when the request is answered.
    arena: Allocator,
    conn: *Conn,
    err: ?RpcError = null,

    /// Answers the request with this error: `return ctx.fail(...)`.
    pub fn fail(ctx: *Ctx, code: i64, message: []const u8, data: ?[]const u8) error{RpcFailed} {
        ctx.err = .{ .code = code, .message = message, .data = data };
        return error.RpcFailed;
    }

    /// Calls host method `method` with `params` (a value std.json writes as
    /// an array or an object, a `Raw`, or `null` for none) and parses its
    /// result into R (`Raw` for the text). The host's error is returned as
    /// `error.RpcFailed` with `ctx.err` set, so `try` passes it on unchanged.
    pub fn call(ctx: *Ctx, comptime R: type, method: []const u8, params: anytype) !R {
        const conn = ctx.conn;
        conn.next_id += 1;
        const id = conn.next_id;
        var line: Io.Writer.Allocating = .init(ctx.arena);
        const w = &line.writer;
        try w.writeAll("{\"jsonrpc\":\"2.0\",\"method\":");
        try std.json.Stringify.value(method, .{}, w);
        try writeParams(w, params);
        try w.print(",\"id\":{d}}}\n", .{id});
        try conn.send(line.written());
        while (true) {
            const text = (try conn.readLine(ctx.arena)) orelse return error.EndOfStream;
            const env = parseEnvelope(ctx.arena, text) catch |e| {
                conn.answerBadLine(e, text);
                continue;
            };
            if (!env.isResponse()) {
                conn.dispatch(conn, env);
                continue;
            }
            const got = std.fmt.parseInt(u64, env.id orelse "", 10) catch 0;
            if (got != id) {
                log("wasplug: ignored a response to id {s}, which is no pending host call", .{env.id orelse "(none)"});
                continue;
            }
            if (env.err) |e| {
                ctx.err = parseError(ctx.arena, e);
                return error.RpcFailed;
            }
            const result = env.result orelse return error.InvalidResponse;
            if (R == Raw) return Raw{ .json = result };
            return std.json.parseFromSliceLeaky(R, ctx.arena, result, .{ .ignore_unknown_fields = true });
        }
    }

    /// Sends the host notification `method` with `params` (as for `call`).
    pub fn notify(ctx: *Ctx, method: []const u8, params: anytype) !void {
        var line: Io.Writer.Allocating = .init(ctx.arena);
        const w = &line.writer;
        try w.writeAll("{\"jsonrpc\":\"2.0\",\"method\":");
        try std.json.Stringify.value(method, .{}, w);
        try writeParams(w, params);
        try w.writeAll("}\n");
        try ctx.conn.send(line.written());
    }
};

fn writeParams(w: *Io.Writer, params: anytype) !void {
    const P = @TypeOf(params);
    if (P == @TypeOf(null)) return;
    try w.writeAll(",\"params\":");
    if (P == Raw) return w.writeAll(params.json);
    try std.json.Stringify.value(params, .{}, w);
}

fn parseError(arena: Allocator, text: []const u8) RpcError {
    const Wire = struct { code: i64, message: []const u8 = "" };
    const wire = std.json.parseFromSliceLeaky(Wire, arena, text, .{ .ignore_unknown_fields = true }) catch
        return .{ .code = internal_error, .message = "the host sent a malformed error", .data = text };
    const env = parseEnvelope(arena, text) catch Envelope{};
    return .{ .code = wire.code, .message = wire.message, .data = env.data };
}

/// The connection: stdin, stdout and the plugin's dispatcher.
pub const Conn = struct {
    gpa: Allocator,
    reader: *Io.Reader,
    writer: *Io.Writer,
    next_id: u64 = 0,
    dispatch: *const fn (*Conn, Envelope) void,
    name: []const u8,
    version: []const u8,

    fn send(conn: *Conn, line: []const u8) !void {
        try conn.writer.writeAll(line);
        try conn.writer.flush();
    }

    /// The next non-blank line, copied into `arena`; null at end of input.
    fn readLine(conn: *Conn, arena: Allocator) !?[]const u8 {
        while (true) {
            const line = (try conn.reader.takeDelimiter('\n')) orelse return null;
            const trimmed = std.mem.trim(u8, line, " \t\r\n");
            if (trimmed.len > 0) return try arena.dupe(u8, trimmed);
        }
    }

    fn answerBadLine(conn: *Conn, e: anyerror, line: []const u8) void {
        const first = if (line.len > 0) line[0] else ' ';
        const err: RpcError = switch (e) {
            error.NotJson => .{ .code = parse_error, .message = "Parse error", .data = "\"not JSON\"" },
            else => if (first == '[')
                .{ .code = invalid_request, .message = "Batches are not supported", .data = "\"send one JSON-RPC object per line\"" }
            else
                .{ .code = invalid_request, .message = "Invalid Request", .data = "\"expected a JSON object\"" },
        };
        conn.answer("null", null, err);
    }

    /// Writes the response to `id`: `result` (JSON text) or `err`.
    fn answer(conn: *Conn, id: []const u8, result: ?[]const u8, err: ?RpcError) void {
        var buf: [4096]u8 = undefined;
        var fba = std.heap.FixedBufferAllocator.init(&buf);
        var line: Io.Writer.Allocating = .init(if (err != null) fba.allocator() else conn.gpa);
        defer line.deinit();
        const w = &line.writer;
        writeAnswer(w, id, result, err) catch {
            log("wasplug: an answer did not fit in memory", .{});
            return;
        };
        conn.send(line.written()) catch |e| log("wasplug: writing an answer failed: {t}", .{e});
    }
};

fn writeAnswer(w: *Io.Writer, id: []const u8, result: ?[]const u8, err: ?RpcError) !void {
    try w.print("{{\"jsonrpc\":\"2.0\",\"id\":{s},", .{id});
    if (err) |e| {
        try w.print("\"error\":{{\"code\":{d},\"message\":", .{e.code});
        try std.json.Stringify.value(e.message, .{}, w);
        if (e.data) |data| try w.print(",\"data\":{s}", .{data});
        try w.writeAll("}}\n");
    } else {
        try w.print("\"result\":{s}}}\n", .{result orelse "null"});
    }
}

/// A message's top-level members, each as written (JSON text).
pub const Envelope = struct {
    jsonrpc: ?[]const u8 = null,
    id: ?[]const u8 = null,
    method: ?[]const u8 = null,
    params: ?[]const u8 = null,
    result: ?[]const u8 = null,
    err: ?[]const u8 = null,
    data: ?[]const u8 = null,

    /// A response: no `method`, and a `result` or an `error` (anything else
    /// without `method` is an invalid request, answered -32600).
    fn isResponse(env: Envelope) bool {
        return env.method == null and (env.result != null or env.err != null);
    }
};

/// Splits a line into its top-level members without parsing their values.
fn parseEnvelope(arena: Allocator, line: []const u8) !Envelope {
    if (!(std.json.validate(arena, line) catch false)) return error.NotJson;
    if (line[0] != '{') return error.NotObject;
    var env: Envelope = .{};
    var i = skipSpace(line, 1);
    while (i < line.len and line[i] == '"') {
        const key_end = skipValue(line, i);
        const key = line[i + 1 .. key_end - 1];
        const start = skipSpace(line, skipSpace(line, key_end) + 1);
        const end = skipValue(line, start);
        const value = line[start..end];
        if (std.mem.eql(u8, key, "jsonrpc")) env.jsonrpc = value;
        if (std.mem.eql(u8, key, "id")) env.id = value;
        if (std.mem.eql(u8, key, "method")) env.method = value;
        if (std.mem.eql(u8, key, "params")) env.params = value;
        if (std.mem.eql(u8, key, "result")) env.result = value;
        if (std.mem.eql(u8, key, "error")) env.err = value;
        if (std.mem.eql(u8, key, "data")) env.data = value;
        i = skipSpace(line, end);
        if (i < line.len and line[i] == ',') i = skipSpace(line, i + 1);
    }
    return env;
}

fn skipSpace(b: []const u8, start: usize) usize {
    var i = start;
    while (i < b.len and (b[i] == ' ' or b[i] == '\t' or b[i] == '\r' or b[i] == '\n')) i += 1;
    return i;
}

/// The end of the (valid) JSON value starting at `start`.
fn skipValue(b: []const u8, start: usize) usize {
    if (start >= b.len) return start;
    var j = start;
    switch (b[start]) {
        '"' => {
            j += 1;
            while (j < b.len) : (j += 1) {
                if (b[j] == '\\') {
                    j += 1;
                } else if (b[j] == '"') return j + 1;
            }
            return b.len;
        },
        '{', '[' => {
            var depth: usize = 0;
            while (j < b.len) {
                switch (b[j]) {
                    '"' => {
                        j = skipValue(b, j);
                        continue;
                    },
                    '{', '[' => depth += 1,
                    '}', ']' => {
                        depth -= 1;
                        if (depth == 0) return j + 1;
                    },
                    else => {},
                }
                j += 1;
            }
            return b.len;
        },
        else => {
            while (j < b.len and std.mem.indexOfScalar(u8, ",}] \t\r\n", b[j]) == null) j += 1;
            return j;
        },
    }
}

fn isId(raw: ?[]const u8) bool {
    const r = raw orelse return false;
    if (r.len == 0) return false;
    return r[0] == '"' or r[0] == '-' or (r[0] >= '0' and r[0] <= '9');
}

/// A JSON string's text, when it has no escapes (all the kit compares).
fn plainString(raw: ?[]const u8) ?[]const u8 {
    const r = raw orelse return null;
    if (r.len < 2 or r[0] != '"' or std.mem.indexOfScalar(u8, r, '\\') != null) return null;
    return r[1 .. r.len - 1];
}

/// The answer to a handler's Zig error: -32603 with its name.
fn internalError(e: anyerror) RpcError {
    const message = if (e == error.EndOfStream) "stdin ended before the host answered" else @errorName(e);
    return .{ .code = internal_error, .message = message };
}

fn log(comptime fmt: []const u8, args: anytype) void {
    std.debug.print(fmt ++ "\n", args);
}

/// Serves the methods of `Methods` until stdin ends. `name` and `version`
/// are rpc.discover's.
pub fn run(comptime Methods: type, name: []const u8, version: []const u8, init: std.process.Init) !void {
    const io = init.io;
    const in_buf = try init.gpa.alloc(u8, max_line);
    defer init.gpa.free(in_buf);
    var out_buf: [4096]u8 = undefined;
    var reader = Io.File.stdin().readerStreaming(io, in_buf);
    var writer = Io.File.stdout().writerStreaming(io, &out_buf);
    var conn: Conn = .{
        .gpa = init.gpa,
        .reader = &reader.interface,
        .writer = &writer.interface,
        .dispatch = Dispatcher(Methods).dispatch,
        .name = name,
        .version = version,
    };
    while (true) {
        var arena_state = std.heap.ArenaAllocator.init(init.gpa);
        defer arena_state.deinit();
        const arena = arena_state.allocator();
        const line = (try conn.readLine(arena)) orelse return;
        const env = parseEnvelope(arena, line) catch |e| {
            conn.answerBadLine(e, line);
            continue;
        };
        if (env.isResponse()) {
            log("wasplug: ignored a response to id {s}, which is no pending host call", .{env.id orelse "(none)"});
            continue;
        }
        conn.dispatch(&conn, env);
    }
}

fn Dispatcher(comptime Methods: type) type {
    return struct {
        fn dispatch(conn: *Conn, env: Envelope) void {
            const id: ?[]const u8 = if (isId(env.id)) env.id else null;
            const bad = RpcError{ .code = invalid_request, .message = "Invalid Request" };
            const jsonrpc = plainString(env.jsonrpc) orelse "";
            if (!std.mem.eql(u8, jsonrpc, "2.0")) {
                var e = bad;
                e.data = "\"\\\"jsonrpc\\\" must be \\\"2.0\\\"\"";
                return conn.answer(id orelse "null", null, e);
            }
            if (env.method == null) {
                // Perhaps a broken response: its id is not ours to echo (P-9).
                var e = bad;
                e.data = "\"no \\\"method\\\": neither a request nor a response\"";
                return conn.answer("null", null, e);
            }
            const method = plainString(env.method) orelse {
                var e = bad;
                e.data = "\"\\\"method\\\" must be a string\"";
                return conn.answer(id orelse "null", null, e);
            };
            if (env.params) |p| if (p[0] != '[' and p[0] != '{') {
                var e = bad;
                e.data = "\"\\\"params\\\" must be an array or object\"";
                return conn.answer(id orelse "null", null, e);
            };
            if (env.id == null) return; // a notification: none handled
            const request_id = id orelse {
                var e = bad;
                e.data = "\"a request \\\"id\\\" must be a string or a number\"";
                return conn.answer("null", null, e);
            };
            var arena_state = std.heap.ArenaAllocator.init(conn.gpa);
            defer arena_state.deinit();
            var ctx: Ctx = .{ .arena = arena_state.allocator(), .conn = conn };
            if (std.mem.eql(u8, method, "rpc.discover")) {
                const doc = discover(ctx.arena, conn) catch return conn.answer(request_id, null, .{ .code = internal_error, .message = "out of memory" });
                return conn.answer(request_id, doc, null);
            }
            inline for (comptime std.meta.declarations(Methods)) |decl_name| {
                if (std.mem.eql(u8, method, decl_name)) {
                    const result = invoke(@field(Methods, decl_name), &ctx, env.params);
                    return if (result) |text| conn.answer(request_id, text, null) else |e| conn.answer(request_id, null, ctx.err orelse internalError(e));
                }
            }
            conn.answer(request_id, null, .{ .code = method_not_found, .message = "Method not found", .data = env.method });
        }

        fn discover(arena: Allocator, conn: *Conn) ![]const u8 {
            var out: Io.Writer.Allocating = .init(arena);
            const w = &out.writer;
            try w.writeAll("{\"openrpc\":\"1.3.2\",\"info\":{\"title\":");
            try std.json.Stringify.value(conn.name, .{}, w);
            try w.writeAll(",\"version\":");
            try std.json.Stringify.value(conn.version, .{}, w);
            try w.print(",\"x-wasplug-protocol\":{d}}},\"methods\":[", .{protocol_version});
            inline for (comptime std.meta.declarations(Methods)) |decl_name| {
                try w.print("{{\"name\":\"{s}\",\"params\":[]}},", .{decl_name});
            }
            try w.writeAll("{\"name\":\"rpc.discover\",\"params\":[]}]}");
            return out.written();
        }
    };
}

/// Runs one handler: parses its params, calls it, writes its result.
fn invoke(comptime handler: anytype, ctx: *Ctx, params: ?[]const u8) anyerror![]const u8 {
    const info = @typeInfo(@TypeOf(handler)).@"fn";
    const P = info.param_types[1].?;
    const p: P = if (P == Raw)
        Raw{ .json = params orelse "null" }
    else if (P == NoParams) blk: {
        if (params) |text| {
            var compact: [16]u8 = undefined;
            var n: usize = 0;
            for (text) |c| if (c != ' ' and c != '\t' and n < compact.len) {
                compact[n] = c;
                n += 1;
            };
            const s = compact[0..n];
            if (!std.mem.eql(u8, s, "[]") and !std.mem.eql(u8, s, "{}") and !std.mem.eql(u8, s, "null"))
                return ctx.fail(invalid_params, "this method takes no params", null);
        }
        break :blk .{};
    } else std.json.parseFromSliceLeaky(P, ctx.arena, params orelse "null", .{ .ignore_unknown_fields = true }) catch |e|
        return ctx.fail(invalid_params, @errorName(e), null);
    const result = try handler(ctx, p);
    if (@TypeOf(result) == Raw) return result.json;
    if (@TypeOf(result) == void) return "null";
    var out: Io.Writer.Allocating = .init(ctx.arena);
    try std.json.Stringify.value(result, .{}, &out.writer);
    return out.written();
}

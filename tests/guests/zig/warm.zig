//! A Zig guest with a warm-start init (docs/PROTOCOL.md §15), built with the
//! Zig kit and `--export=wasplug_init`, for tests/tests/warm_start.rs.
//!
//! The init (the export `wasplug_init`) builds a table; `main` builds it only
//! if no init did. `get` answers [table[999], calls, warm]: the table's last
//! entry, how many calls this instance has served (1: no call sees
//! another's), and whether the table was there before `main` ran (1 with a
//! warm start, 0 without).
const std = @import("std");
const wasplug = @import("wasplug");

var table: ?[]u32 = null;
var calls: i64 = 0;
var warm: i64 = 0;

fn build() void {
    if (table != null) return;
    const t = std.heap.page_allocator.alloc(u32, 1000) catch @panic("out of memory");
    for (t, 0..) |*x, i| x.* = @intCast(i * i);
    table = t;
}

export fn wasplug_init() void {
    build();
}

const Methods = struct {
    pub fn get(_: *wasplug.Ctx, _: wasplug.NoParams) ![3]i64 {
        calls += 1;
        return .{ table.?[999], calls, warm };
    }
};

pub fn main(init: std.process.Init) !void {
    if (table != null) warm = 1;
    build();
    try wasplug.run(Methods, "zig-warm", "1.0.0", init);
}

//! The wasplug Zig kit's example plugin: the scenario every kit's example
//! implements (ping, echo, add, fail, call_echo, notify, rpc.discover).
const std = @import("std");
const wasplug = @import("wasplug");

// The manifest, in the module's `wasplug_manifest` custom section.
comptime {
    asm (wasplug.manifestSection(
            \\{"name":"zig-example","version":"1.0.0","protocol":1,
            \\ "description":"The wasplug Zig kit's example plugin",
            \\ "methods":["ping","echo","add","fail","call_echo","notify"],"capabilities":["echo"]}
        ));
}

const Methods = struct {
    pub fn ping(_: *wasplug.Ctx, _: wasplug.NoParams) ![]const u8 {
        return "pong";
    }

    /// The params back exactly as sent: unicode, numbers of any size.
    pub fn echo(_: *wasplug.Ctx, params: wasplug.Raw) !wasplug.Raw {
        return params;
    }

    pub fn add(ctx: *wasplug.Ctx, p: [2]i64) !i64 {
        return std.math.add(i64, p[0], p[1]) catch
            ctx.fail(wasplug.invalid_params, "the sum does not fit in 64 bits", null);
    }

    pub fn fail(ctx: *wasplug.Ctx, _: wasplug.NoParams) !void {
        return ctx.fail(-32000, "failed on purpose",
            \\{"reason":"the scenario asks for it","retry":false}
        );
    }

    /// Calls the host's echo with its own params and answers what came back.
    pub fn call_echo(ctx: *wasplug.Ctx, params: wasplug.Raw) !wasplug.Raw {
        return ctx.call(wasplug.Raw, "echo", params);
    }

    /// Tells the host about its progress, then answers.
    pub fn notify(ctx: *wasplug.Ctx, _: wasplug.NoParams) ![]const u8 {
        try ctx.notify("progress", [_]i64{1});
        return "notified";
    }
};

pub fn main(init: std.process.Init) !void {
    try wasplug.run(Methods, "zig-example", "1.0.0", init);
}

/* The C kit's example plugin: the shared scenario every wasplug kit's
 * example implements (tests/tests/kits.rs runs it). */
#include "wasplug.h"

#include <stdlib.h>

WASPLUG_MANIFEST({"name":"c-example","version":"1.0.0","protocol":1,
                  "description":"The shared kit scenario, in C",
                  "methods":["ping","echo","add","fail","call_echo","notify"],
                  "capabilities":["echo","progress"]})

/* ping → "pong" */
static void ping(const char *params, wasplug_answer *answer) {
    (void)params;
    wasplug_ok(answer, "\"pong\"");
}

/* echo → the params, unchanged (the exact text: every digit, every escape) */
static void echo(const char *params, wasplug_answer *answer) {
    wasplug_ok(answer, params);
}

/* add [a, b] → a + b, for integers that fit in 64 bits */
static void add(const char *params, wasplug_answer *answer) {
    size_t a_len, b_len;
    const char *a = wasplug_json_at(params, 0, &a_len);
    const char *b = wasplug_json_at(params, 1, &b_len);
    int64_t x, y, sum;
    if (!a || !b || wasplug_json_at(params, 2, NULL) || wasplug_json_int(a, a_len, &x) ||
        wasplug_json_int(b, b_len, &y)) {
        wasplug_fail(answer, WASPLUG_INVALID_PARAMS, "Invalid params",
                     "\"expected [a, b], two integers\"");
        return;
    }
    if (__builtin_add_overflow(x, y, &sum)) {
        wasplug_fail(answer, WASPLUG_INVALID_PARAMS, "Invalid params", "\"the sum overflows\"");
        return;
    }
    char text[24], *p = text + sizeof text;
    uint64_t magnitude = sum < 0 ? (uint64_t)0 - (uint64_t)sum : (uint64_t)sum;
    *--p = '\0';
    do *--p = (char)('0' + magnitude % 10); while (magnitude /= 10);
    if (sum < 0) *--p = '-';
    wasplug_ok(answer, p);
}

/* fail → an error with a code, a message and data */
static void fail(const char *params, wasplug_answer *answer) {
    (void)params;
    wasplug_fail(answer, -32000, "it failed, as asked", "{\"why\":\"asked to\",\"retry\":false}");
}

/* call_echo → the host's `echo` of the params */
static void call_echo(const char *params, wasplug_answer *answer) {
    char *result;
    wasplug_error error;
    if (wasplug_call("echo", params, &result, &error) == 0) {
        wasplug_ok(answer, result);
        free(result);
    } else {
        wasplug_fail(answer, error.code, error.message, error.data);
        wasplug_error_free(&error);
    }
}

/* notify → sends the host a `progress` notification, then answers "sent" */
static void notify(const char *params, wasplug_answer *answer) {
    (void)params;
    if (wasplug_notify("progress", "{\"done\":1,\"of\":1}") != 0) {
        wasplug_fail(answer, WASPLUG_INTERNAL_ERROR, "cannot notify", NULL);
        return;
    }
    wasplug_ok(answer, "\"sent\"");
}

int main(void) {
    wasplug_init("c-example", "1.0.0");
    wasplug_method("ping", ping);
    wasplug_method("echo", echo);
    wasplug_method("add", add);
    wasplug_method("fail", fail);
    wasplug_method("call_echo", call_echo);
    wasplug_method("notify", notify);
    return wasplug_run();
}

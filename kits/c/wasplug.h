/* wasplug.h: the C kit for wasplug plugins (wasm32-wasi, wasi-libc).
 *
 * A plugin speaks JSON-RPC 2.0, one object per line, over stdin/stdout with
 * its host. This kit does the envelope: it reads the requests, calls the
 * handler registered for each method with the params as JSON text, and writes
 * the answer (a result, JSON text, or an error) with the request's id echoed
 * byte for byte. A handler may call the host's methods (blocking: the kit
 * waits for that answer, queueing whatever else arrives meanwhile) and send
 * notifications. It answers `rpc.discover` itself from the registered methods.
 *
 *     #include "wasplug.h"
 *     WASPLUG_MANIFEST({"name":"hello","version":"1.0.0","protocol":1,"methods":["hello"]})
 *
 *     static void hello(const char *params, wasplug_answer *answer) {
 *         (void)params;
 *         wasplug_ok(answer, "\"hello, world\"");
 *     }
 *
 *     int main(void) {
 *         wasplug_init("hello", "1.0.0");
 *         wasplug_method("hello", hello);
 *         return wasplug_run();
 *     }
 *
 * JSON text given to the kit (results, params, error data) is written out as
 * it is: it must be valid JSON. JSON text the kit gives you (params, host
 * results, error data) is NUL-terminated and valid: the kit checked it.
 *
 * Not thread-safe (there is one thread in wasm32-wasi). Memory the kit hands
 * out is freed with free() unless said otherwise. See README.md. */
#ifndef WASPLUG_H
#define WASPLUG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol version this kit speaks. */
#define WASPLUG_PROTOCOL 1

/* Standard JSON-RPC error codes, and the kit's own. */
#define WASPLUG_PARSE_ERROR (-32700)
#define WASPLUG_INVALID_REQUEST (-32600)
#define WASPLUG_METHOD_NOT_FOUND (-32601)
#define WASPLUG_INVALID_PARAMS (-32602)
#define WASPLUG_INTERNAL_ERROR (-32603)

#define WASPLUG_STRINGIFY_(...) #__VA_ARGS__
#define WASPLUG_STRINGIFY2_(...) WASPLUG_STRINGIFY_(__VA_ARGS__)

/* Records the plugin's manifest, written as plain JSON tokens (not a C
 * string), in the `wasplug_manifest` custom section, which the host reads
 * before running any code. Use it once, at file scope:
 *
 *     WASPLUG_MANIFEST({"name":"adder","version":"1.0.0","protocol":1,"methods":["add"]})
 *
 * `name` and `protocol` are required. The JSON is stringified twice by the
 * preprocessor (once into a C string, once more into the assembler's string),
 * so it needs no escaping; whitespace between tokens may change, nothing else.
 * (`__attribute__((section(...)))` does not make a custom section in wasm: an
 * assembler `.section .custom_section.NAME` directive does.) */
#define WASPLUG_MANIFEST(...)                                           \
    __asm__(".section .custom_section.wasplug_manifest,\"\",@\n"        \
            ".ascii " WASPLUG_STRINGIFY2_(WASPLUG_STRINGIFY_(__VA_ARGS__)) \
            "\n.text\n");

/* Where a handler puts its answer. */
typedef struct wasplug_answer wasplug_answer;

/* A method handler: `params` is the request's params as JSON text (`null`
 * when it had none). It answers with wasplug_ok or wasplug_fail (the last
 * call wins); a handler that does neither answers `null`. */
typedef void (*wasplug_handler)(const char *params, wasplug_answer *answer);

/* An error: a JSON-RPC error object. `message` and `data` (JSON text, NULL
 * when absent) belong to the struct: free them with wasplug_error_free. */
typedef struct wasplug_error {
    int64_t code;
    char *message;
    char *data;
} wasplug_error;

/* Names the plugin for `rpc.discover` (`info.title` and `info.version`). */
void wasplug_init(const char *name, const char *version);

/* Registers (or replaces) the handler of method `name`. A notification with
 * that name runs the same handler, and its answer is dropped. Returns 0, or
 * -1 when out of memory. */
int wasplug_method(const char *name, wasplug_handler handler);

/* Answers `result`, JSON text (copied; NULL is null). A result that is not
 * valid JSON is answered as error -32603 instead (and logged). */
void wasplug_ok(wasplug_answer *answer, const char *result);

/* Answers an error; `data` is JSON text or NULL (both copied; invalid `data`
 * makes it error -32603). */
void wasplug_fail(wasplug_answer *answer, int64_t code, const char *message,
                  const char *data);

/* Serves requests from stdin until it ends; returns 0 then (return it from
 * main), or 1 when stdout fails. */
int wasplug_run(void);

/* Calls the host's `method` with `params` (JSON array or object text, or
 * NULL for none) and blocks until its answer. Returns 0 and sets `*result`
 * (JSON text, free() it) on success; returns -1 and fills `*error` (free it
 * with wasplug_error_free) when the host answers an error or the call cannot
 * be made (params not JSON text of an array, an object or null: -32602;
 * stdin ended: -32603). `error` may be NULL. Requests that
 * arrive meanwhile are served after the current handler returns. */
int wasplug_call(const char *method, const char *params, char **result,
                 wasplug_error *error);

/* Sends the notification `method` with `params` (as wasplug_call). Returns 0,
 * or -1 when the params are not valid or stdout fails. */
int wasplug_notify(const char *method, const char *params);

/* Frees what an error holds (not the struct itself). */
void wasplug_error_free(wasplug_error *error);

/* --- Reading JSON text (params, results) without a parser ---------------
 * These work on valid JSON text, as the kit hands it out: they return
 * pointers into it and lengths, never copies. */

/* The JSON kind of `json`'s value: 'o' object, 'a' array, 's' string,
 * 'n' number, 't' true, 'f' false, 'z' null, 0 if it is not valid JSON. */
char wasplug_json_kind(const char *json);

/* The `index`th element (from 0) of the array `json`: its start, and its
 * length in `*len`. NULL when `json` is not an array or is shorter. */
const char *wasplug_json_at(const char *json, size_t index, size_t *len);

/* The member `key` of the object `json` (its value's start and length), NULL
 * when absent. Keys are compared as written, without decoding escapes. */
const char *wasplug_json_get(const char *json, const char *key, size_t *len);

/* Reads the integer `json` (`len` bytes) into `*out`: 0, or -1 when it is not
 * an integer (fraction, exponent) or does not fit in 64 bits. */
int wasplug_json_int(const char *json, size_t len, int64_t *out);

/* Decodes the JSON string `json` (`len` bytes) into a new NUL-terminated
 * UTF-8 string (free() it), or NULL when it is not a string or out of memory.
 * `\u0000` is kept as a NUL byte. `*out_len` (if not NULL) gets its length. */
char *wasplug_json_string(const char *json, size_t len, size_t *out_len);

/* Encodes `text` (`len` bytes of UTF-8) as a JSON string (quoted, escaped)
 * into a new NUL-terminated buffer (free() it), or NULL when out of memory. */
char *wasplug_json_quote(const char *text, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WASPLUG_H */

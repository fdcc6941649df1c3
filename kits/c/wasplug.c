/* wasplug.c: the C kit for wasplug plugins. See wasplug.h and README.md.
 *
 * JSON is handled by a small validating scanner, not a parser: a line is
 * checked to be valid JSON (UTF-8, syntax, nesting), then only the envelope's
 * members (jsonrpc, id, method, params, result, error) are located, as spans
 * of the line. Params, results and error data stay JSON text; ids are echoed
 * as the exact bytes the host sent. */
#include "wasplug.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Nesting deeper than this (counting the message itself) is a parse error,
 * as in the host's default: the scanner recurses, and the stack is small. */
#define MAX_DEPTH 64
/* How much stdin is read at a time. */
#define READ_CHUNK 4096

/* ---- Growable byte buffers ---------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int failed; /* out of memory: the content is incomplete */
} buf;

static void buf_put(buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_puts(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_u64(buf *b, uint64_t v) {
    char digits[24];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_put(b, digits + i, sizeof digits - i);
}

static void buf_i64(buf *b, int64_t v) {
    if (v < 0) {
        buf_put(b, "-", 1);
        buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        buf_u64(b, (uint64_t)v);
    }
}

static void buf_quote(buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    buf_put(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_put(b, s + start, i - start);
        start = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t esc_len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            esc_len = 6;
        }
        buf_put(b, esc, esc_len);
    }
    buf_put(b, s + start, n - start);
    buf_put(b, "\"", 1);
}

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* ---- The scanner --------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Whether `n` bytes at `s` are valid UTF-8 (no overlongs, no surrogates). */
static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) more = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) more = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) more = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (n - i <= more) return 0;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += more + 1;
    }
    return 1;
}

/* Skips the string at `p` (its opening quote); returns the byte after its
 * closing quote, or NULL when it is not a valid string. */
static const char *skip_string(const char *p, const char *end) {
    if (p >= end || *p != '"') return NULL;
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            if (++p >= end) return NULL;
            if (*p == 'u') {
                if (end - p < 5) return NULL;
                for (int k = 1; k <= 4; k++)
                    if (hex_value(p[k]) < 0) return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || *p == '\0') {
                return NULL;
            }
        }
    }
    return NULL;
}

static const char *skip_number(const char *p, const char *end) {
    if (p < end && *p == '-') p++;
    if (p >= end || !is_digit(*p)) return NULL;
    if (*p == '0') p++;
    else while (p < end && is_digit(*p)) p++;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
    }
    return p;
}

static const char *skip_literal(const char *p, const char *end, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0) return NULL;
    return p + n;
}

/* Skips the value at `p` (no leading whitespace); returns the byte after it,
 * or NULL when it is not valid JSON. */
static const char *skip_value(const char *p, const char *end, int depth) {
    if (p >= end) return NULL;
    switch (*p) {
    case '"': return skip_string(p, end);
    case 't': return skip_literal(p, end, "true");
    case 'f': return skip_literal(p, end, "false");
    case 'n': return skip_literal(p, end, "null");
    case '[':
    case '{': {
        char close = *p == '[' ? ']' : '}';
        int object = *p == '{';
        if (depth >= MAX_DEPTH) return NULL;
        p = skip_ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            if (object) {
                p = skip_string(p, end);
                if (!p) return NULL;
                p = skip_ws(p, end);
                if (p >= end || *p != ':') return NULL;
                p = skip_ws(p + 1, end);
            }
            p = skip_value(p, end, depth + 1);
            if (!p) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p = skip_ws(p + 1, end);
        }
    }
    default: return skip_number(p, end);
    }
}

/* The value of `json` (whitespace around it allowed) if it is valid JSON. */
static int valid_json(const char *p, const char *end) {
    p = skip_value(skip_ws(p, end), end, 0);
    return p && skip_ws(p, end) == end;
}

/* A span of a line. */
typedef struct span {
    const char *p;
    size_t len;
} span;

static int span_is(span s, const char *text) {
    return s.p && s.len == strlen(text) && memcmp(s.p, text, s.len) == 0;
}

/* Kind of an already validated value. */
static char kind_of(const char *p) {
    switch (*p) {
    case '{': return 'o';
    case '[': return 'a';
    case '"': return 's';
    case 't': return 't';
    case 'f': return 'f';
    case 'n': return 'z';
    default: return 'n';
    }
}

/* ---- Public JSON helpers ------------------------------------------------- */

char wasplug_json_kind(const char *json) {
    const char *end = json + strlen(json);
    if (!valid_json(json, end)) return 0;
    return kind_of(skip_ws(json, end));
}

const char *wasplug_json_at(const char *json, size_t index, size_t *len) {
    const char *end = json + strlen(json);
    const char *p = skip_ws(json, end);
    if (p >= end || *p != '[') return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') return NULL;
    for (size_t i = 0;; i++) {
        const char *after = skip_value(p, end, 1);
        if (!after) return NULL;
        if (i == index) {
            if (len) *len = (size_t)(after - p);
            return p;
        }
        p = skip_ws(after, end);
        if (p >= end || *p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

static const char *member(const char *p, const char *end, const char *key, size_t *len) {
    size_t key_len = strlen(key);
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return NULL;
    for (;;) {
        const char *key_end = skip_string(p, end);
        if (!key_end) return NULL;
        int match = (size_t)(key_end - p) == key_len + 2 && memcmp(p + 1, key, key_len) == 0;
        p = skip_ws(key_end, end);
        if (p >= end || *p != ':') return NULL;
        p = skip_ws(p + 1, end);
        const char *after = skip_value(p, end, 1);
        if (!after) return NULL;
        if (match) {
            if (len) *len = (size_t)(after - p);
            return p;
        }
        p = skip_ws(after, end);
        if (p >= end || *p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

const char *wasplug_json_get(const char *json, const char *key, size_t *len) {
    return member(json, json + strlen(json), key, len);
}

int wasplug_json_int(const char *json, size_t len, int64_t *out) {
    const char *p = json, *end = json + len;
    int negative = p < end && *p == '-';
    if (negative) p++;
    if (p >= end) return -1;
    uint64_t v = 0;
    for (; p < end; p++) {
        if (!is_digit(*p)) return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (negative ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return -1;
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static void put_utf8(buf *b, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), n = 2;
    else if (cp < 0x10000) u[0] = (char)(0xE0 | cp >> 12), n = 3;
    else u[0] = (char)(0xF0 | cp >> 18), n = 4;
    for (size_t k = 1; k < n; k++) u[k] = (char)(0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3F));
    buf_put(b, u, n);
}

static uint32_t hex4(const char *p) {
    return (uint32_t)(hex_value(p[0]) << 12 | hex_value(p[1]) << 8 | hex_value(p[2]) << 4 |
                      hex_value(p[3]));
}

char *wasplug_json_string(const char *json, size_t len, size_t *out_len) {
    const char *end = json + len;
    if (skip_string(json, end) != end) return NULL;
    buf b = {0};
    buf_put(&b, "", 0);
    for (const char *p = json + 1; p < end - 1; p++) {
        if (*p != '\\') {
            const char *run = p;
            while (p < end - 1 && *p != '\\') p++;
            buf_put(&b, run, (size_t)(p - run));
            p--;
            continue;
        }
        char c = *++p;
        switch (c) {
        case 'b': buf_put(&b, "\b", 1); break;
        case 'f': buf_put(&b, "\f", 1); break;
        case 'n': buf_put(&b, "\n", 1); break;
        case 'r': buf_put(&b, "\r", 1); break;
        case 't': buf_put(&b, "\t", 1); break;
        case 'u': {
            uint32_t cp = hex4(p + 1);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && end - p > 7 && p[1] == '\\' && p[2] == 'u') {
                uint32_t low = hex4(p + 3);
                if (low >= 0xDC00 && low <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* a lone surrogate */
            put_utf8(&b, cp);
            break;
        }
        default: buf_put(&b, &c, 1); /* " \ / */
        }
    }
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (out_len) *out_len = b.len;
    return b.p;
}

char *wasplug_json_quote(const char *text, size_t len) {
    buf b = {0};
    buf_quote(&b, text, len);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- I/O ----------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void log_line(const char *a, const char *b) {
    buf line = {0};
    buf_puts(&line, "wasplug: ");
    buf_puts(&line, a);
    buf_puts(&line, b);
    buf_put(&line, "\n", 1);
    if (!line.failed) (void)write_all(2, line.p, line.len);
    free(line.p);
}

/* Whether writing to stdout failed (the host is gone). */
static int stdout_failed;

/* Writes one message (a line) to stdout. */
static int send_line(buf *line) {
    if (line->failed) {
        log_line("out of memory writing a message", "");
        free(line->p);
        return -1;
    }
    buf_put(line, "\n", 1);
    int rc = line->failed ? -1 : write_all(1, line->p, line->len);
    free(line->p);
    if (rc) stdout_failed = 1;
    return rc;
}

/* stdin, read in chunks: bytes [in_start, in_len) are not yet consumed. */
static char *in_buf;
static size_t in_start, in_len, in_cap;
static int in_eof;

/* A line read from stdin or queued. */
typedef struct line {
    char *text; /* NUL-terminated, without its '\n' */
    size_t len;
    struct line *next;
} line;

/* Lines that arrived while a host call waited for its answer. */
static line *queue_head, *queue_tail;

/* The next line of stdin (malloc'd, '\n' and a '\r' before it removed), or
 * NULL at its end. A last line without '\n' counts. */
static char *read_line(size_t *len) {
    for (;;) {
        char *nl = in_len > in_start ? memchr(in_buf + in_start, '\n', in_len - in_start) : NULL;
        if (nl || (in_eof && in_len > in_start)) {
            size_t n = nl ? (size_t)(nl - (in_buf + in_start)) : in_len - in_start;
            char *text = dup_n(in_buf + in_start, n);
            in_start += n + (nl ? 1 : 0);
            if (!text) return NULL;
            if (n > 0 && text[n - 1] == '\r') text[--n] = '\0';
            *len = n;
            return text;
        }
        if (in_eof) return NULL;
        if (in_start > 0) {
            memmove(in_buf, in_buf + in_start, in_len - in_start);
            in_len -= in_start;
            in_start = 0;
        }
        if (in_cap - in_len < READ_CHUNK) {
            size_t cap = in_cap ? in_cap * 2 : READ_CHUNK * 2;
            char *p = realloc(in_buf, cap);
            if (!p) return NULL;
            in_buf = p;
            in_cap = cap;
        }
        ssize_t n = read(0, in_buf + in_len, in_cap - in_len);
        if (n <= 0) in_eof = 1;
        else in_len += (size_t)n;
    }
}

/* ---- Messages ------------------------------------------------------------ */

/* The envelope members of a message; `p == NULL` when absent. */
typedef struct envelope {
    span jsonrpc, id, method, params, result, error;
} envelope;

/* What a line is. */
enum parsed { MSG_OK, MSG_NOT_JSON, MSG_NOT_OBJECT, MSG_BATCH };

static enum parsed parse_envelope(const char *text, size_t len, envelope *env) {
    const char *end = text + len;
    memset(env, 0, sizeof *env);
    if (!valid_utf8((const unsigned char *)text, len) || !valid_json(text, end))
        return MSG_NOT_JSON;
    const char *p = skip_ws(text, end);
    if (*p == '[') return MSG_BATCH;
    if (*p != '{') return MSG_NOT_OBJECT;
    p = skip_ws(p + 1, end);
    while (*p != '}') {
        const char *key_end = skip_string(p, end);
        span key = {p, (size_t)(key_end - p)};
        p = skip_ws(skip_ws(key_end, end) + 1, end); /* past ':' */
        const char *after = skip_value(p, end, 1);
        span value = {p, (size_t)(after - p)};
        if (span_is(key, "\"jsonrpc\"")) env->jsonrpc = value;
        else if (span_is(key, "\"id\"")) env->id = value;
        else if (span_is(key, "\"method\"")) env->method = value;
        else if (span_is(key, "\"params\"")) env->params = value;
        else if (span_is(key, "\"result\"")) env->result = value;
        else if (span_is(key, "\"error\"")) env->error = value;
        p = skip_ws(after, end);
        if (*p == ',') p = skip_ws(p + 1, end);
    }
    return MSG_OK;
}

/* Writes an error response; `id` is JSON text ("null" when unknown). */
static void send_error(span id, int64_t code, const char *message, const char *data, size_t data_len) {
    buf b = {0};
    buf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
    if (id.p) buf_put(&b, id.p, id.len);
    else buf_puts(&b, "null");
    buf_puts(&b, ",\"error\":{\"code\":");
    buf_i64(&b, code);
    buf_puts(&b, ",\"message\":");
    buf_quote(&b, message, strlen(message));
    if (data) {
        buf_puts(&b, ",\"data\":");
        buf_put(&b, data, data_len);
    }
    buf_puts(&b, "}}");
    send_line(&b);
}

/* An error whose data is a JSON string saying `why`. */
static void send_error_why(span id, int64_t code, const char *message, const char *why) {
    buf data = {0};
    buf_quote(&data, why, strlen(why));
    if (data.failed) send_error(id, code, message, NULL, 0);
    else send_error(id, code, message, data.p, data.len);
    free(data.p);
}

/* ---- Handlers ------------------------------------------------------------ */

struct wasplug_answer {
    int failed;
    char *result; /* JSON text, NULL for null */
    int64_t code;
    char *message;
    char *data; /* JSON text or NULL */
};

static void answer_clear(wasplug_answer *a) {
    free(a->result);
    free(a->message);
    free(a->data);
    memset(a, 0, sizeof *a);
}

void wasplug_ok(wasplug_answer *answer, const char *result) {
    if (!result) result = "null";
    answer_clear(answer);
    answer->result = dup_n(result, strlen(result));
    if (!answer->result) wasplug_fail(answer, WASPLUG_INTERNAL_ERROR, "out of memory", NULL);
}

void wasplug_fail(wasplug_answer *answer, int64_t code, const char *message, const char *data) {
    answer_clear(answer);
    answer->failed = 1;
    answer->code = code;
    if (!message) message = "";
    answer->message = dup_n(message, strlen(message));
    if (data) answer->data = dup_n(data, strlen(data));
}

typedef struct method {
    char *name;
    wasplug_handler handler;
} method;

static method *methods;
static size_t method_count;
static const char *plugin_name = "plugin";
static const char *plugin_version = "";

void wasplug_init(const char *name, const char *version) {
    plugin_name = name;
    plugin_version = version;
}

int wasplug_method(const char *name, wasplug_handler handler) {
    for (size_t i = 0; i < method_count; i++) {
        if (strcmp(methods[i].name, name) == 0) {
            methods[i].handler = handler;
            return 0;
        }
    }
    method *grown = realloc(methods, (method_count + 1) * sizeof *methods);
    if (!grown) return -1;
    methods = grown;
    char *copy = dup_n(name, strlen(name));
    if (!copy) return -1;
    methods[method_count].name = copy;
    methods[method_count].handler = handler;
    method_count++;
    return 0;
}

static wasplug_handler find_method(const char *name, size_t len) {
    for (size_t i = 0; i < method_count; i++)
        if (strlen(methods[i].name) == len && memcmp(methods[i].name, name, len) == 0)
            return methods[i].handler;
    return NULL;
}

/* The built-in `rpc.discover` answer: an OpenRPC document listing the
 * registered methods. */
static void discover(const char *params, wasplug_answer *answer) {
    (void)params;
    buf b = {0};
    buf_puts(&b, "{\"openrpc\":\"1.3.2\",\"info\":{\"title\":");
    buf_quote(&b, plugin_name, strlen(plugin_name));
    buf_puts(&b, ",\"version\":");
    buf_quote(&b, plugin_version, strlen(plugin_version));
    buf_puts(&b, ",\"x-wasplug-protocol\":");
    buf_u64(&b, WASPLUG_PROTOCOL);
    buf_puts(&b, "},\"methods\":[");
    int listed_discover = 0;
    for (size_t i = 0; i < method_count; i++) {
        if (i) buf_put(&b, ",", 1);
        buf_puts(&b, "{\"name\":");
        buf_quote(&b, methods[i].name, strlen(methods[i].name));
        buf_put(&b, "}", 1);
        listed_discover |= strcmp(methods[i].name, "rpc.discover") == 0;
    }
    if (!listed_discover) buf_puts(&b, method_count ? ",{\"name\":\"rpc.discover\"}" : "{\"name\":\"rpc.discover\"}");
    buf_puts(&b, "]}");
    if (b.failed) wasplug_fail(answer, WASPLUG_INTERNAL_ERROR, "out of memory", NULL);
    else {
        answer_clear(answer);
        answer->result = b.p;
        return;
    }
    free(b.p);
}

/* Handles one line from the host that is not the answer to a host call. */
static void handle_line(const char *text, size_t len) {
    envelope env;
    span no_id = {0};
    switch (parse_envelope(text, len, &env)) {
    case MSG_NOT_JSON: send_error_why(no_id, WASPLUG_PARSE_ERROR, "Parse error", "not valid JSON"); return;
    case MSG_BATCH:
        send_error_why(no_id, WASPLUG_INVALID_REQUEST, "Batches are not supported",
                       "send one JSON-RPC object per line");
        return;
    case MSG_NOT_OBJECT:
        send_error_why(no_id, WASPLUG_INVALID_REQUEST, "Invalid request", "not a JSON object");
        return;
    case MSG_OK: break;
    }
    /* Only a string or number id is echoed; another is answered with null. */
    span id = env.id;
    int id_ok = !id.p || kind_of(id.p) == 's' || kind_of(id.p) == 'n';
    if (!id_ok) id = no_id;
    if (!env.method.p) {
        if (env.result.p || env.error.p) {
            log_line("dropped a response to no host call in flight", "");
            return;
        }
        /* Without a method it may be a broken response: its id is not ours to echo (P-9). */
        send_error_why(no_id, WASPLUG_INVALID_REQUEST, "Invalid request", "no method");
        return;
    }
    const char *why = NULL;
    if (!span_is(env.jsonrpc, "\"2.0\"")) why = "jsonrpc is not \"2.0\"";
    else if (!id_ok) why = "the id is not a string or a number";
    else if (kind_of(env.method.p) != 's') why = "the method is not a string";
    else if (env.params.p && kind_of(env.params.p) != 'a' && kind_of(env.params.p) != 'o' &&
             kind_of(env.params.p) != 'z')
        why = "params are not an array or an object";
    if (why) {
        /* An invalid notification is answered too, with id null (P-9). */
        send_error_why(id, WASPLUG_INVALID_REQUEST, "Invalid request", why);
        return;
    }
    size_t name_len;
    char *name = wasplug_json_string(env.method.p, env.method.len, &name_len);
    if (!name) {
        if (env.id.p) send_error(id, WASPLUG_INTERNAL_ERROR, "out of memory", NULL, 0);
        return;
    }
    wasplug_handler handler = find_method(name, name_len);
    if (!handler && strcmp(name, "rpc.discover") == 0) handler = discover;
    if (!handler) {
        if (env.id.p) {
            buf data = {0};
            buf_quote(&data, name, name_len);
            send_error(id, WASPLUG_METHOD_NOT_FOUND, "Method not found", data.failed ? NULL : data.p,
                       data.len);
            free(data.p);
        }
        free(name);
        return;
    }
    free(name);
    char *params = env.params.p ? dup_n(env.params.p, env.params.len) : dup_n("null", 4);
    wasplug_answer answer = {0};
    if (params) handler(params, &answer);
    else wasplug_fail(&answer, WASPLUG_INTERNAL_ERROR, "out of memory", NULL);
    free(params);
    /* What the handler wrote goes out as it is: it must be JSON. */
    if (answer.failed ? answer.data && !valid_json(answer.data, answer.data + strlen(answer.data))
                      : answer.result && !valid_json(answer.result, answer.result + strlen(answer.result))) {
        log_line("a handler answered invalid JSON: ", answer.failed ? answer.data : answer.result);
        wasplug_fail(&answer, WASPLUG_INTERNAL_ERROR, "the handler answered invalid JSON", NULL);
    }
    if (env.id.p) {
        if (answer.failed) {
            send_error(id, answer.code, answer.message ? answer.message : "",
                       answer.data, answer.data ? strlen(answer.data) : 0);
        } else {
            buf b = {0};
            buf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
            buf_put(&b, id.p, id.len);
            buf_puts(&b, ",\"result\":");
            buf_puts(&b, answer.result ? answer.result : "null");
            buf_put(&b, "}", 1);
            send_line(&b);
        }
    }
    answer_clear(&answer);
}

int wasplug_run(void) {
    while (!stdout_failed) {
        char *text;
        size_t len;
        if (queue_head) {
            line *l = queue_head;
            queue_head = l->next;
            if (!queue_head) queue_tail = NULL;
            text = l->text;
            len = l->len;
            free(l);
        } else {
            text = read_line(&len);
            if (!text) break;
        }
        if (skip_ws(text, text + len) != text + len) handle_line(text, len);
        free(text);
    }
    return stdout_failed ? 1 : 0;
}

/* ---- Calling the host ---------------------------------------------------- */

static uint64_t next_id = 1;

void wasplug_error_free(wasplug_error *error) {
    if (!error) return;
    free(error->message);
    free(error->data);
    error->message = NULL;
    error->data = NULL;
}

static void set_error(wasplug_error *error, int64_t code, const char *message) {
    if (!error) return;
    error->code = code;
    error->message = dup_n(message, strlen(message));
    error->data = NULL;
}

/* Whether `params` may go out: NULL, or JSON text of an array, an object or null. */
static int valid_params(const char *params) {
    if (!params) return 1;
    char kind = wasplug_json_kind(params);
    return kind == 'a' || kind == 'o' || kind == 'z';
}

/* Writes a request (with `id`) or a notification (`id` 0). */
static int send_request(uint64_t id, const char *method, const char *params) {
    buf b = {0};
    buf_puts(&b, "{\"jsonrpc\":\"2.0\",");
    if (id) {
        buf_puts(&b, "\"id\":");
        buf_u64(&b, id);
        buf_put(&b, ",", 1);
    }
    buf_puts(&b, "\"method\":");
    buf_quote(&b, method, strlen(method));
    if (params && wasplug_json_kind(params) != 'z') {
        buf_puts(&b, ",\"params\":");
        buf_puts(&b, params);
    }
    buf_put(&b, "}", 1);
    return send_line(&b);
}

int wasplug_notify(const char *method, const char *params) {
    if (!valid_params(params)) {
        log_line("notification params are not an array, an object or null: ", params);
        return -1;
    }
    return send_request(0, method, params);
}

int wasplug_call(const char *method, const char *params, char **result, wasplug_error *error) {
    uint64_t id = next_id++;
    *result = NULL;
    if (!valid_params(params)) {
        set_error(error, WASPLUG_INVALID_PARAMS, "params are not JSON text of an array, an object or null");
        return -1;
    }
    if (send_request(id, method, params)) {
        set_error(error, WASPLUG_INTERNAL_ERROR, "cannot write to stdout");
        return -1;
    }
    for (;;) {
        size_t len;
        char *text = read_line(&len);
        if (!text) {
            set_error(error, WASPLUG_INTERNAL_ERROR, "stdin ended before the host answered");
            return -1;
        }
        envelope env;
        int64_t got;
        if (parse_envelope(text, len, &env) == MSG_OK && !env.method.p &&
            (env.result.p || env.error.p) && env.id.p) {
            if (wasplug_json_int(env.id.p, env.id.len, &got) == 0 && (uint64_t)got == id) {
                int rc = 0;
                if (env.error.p) {
                    const char *end = env.error.p + env.error.len;
                    size_t n = 0;
                    const char *code = member(env.error.p, end, "code", &n);
                    int64_t c = WASPLUG_INTERNAL_ERROR;
                    if (code) (void)wasplug_json_int(code, n, &c);
                    const char *message = member(env.error.p, end, "message", &n);
                    char *m = message ? wasplug_json_string(message, n, NULL) : NULL;
                    const char *data = member(env.error.p, end, "data", &n);
                    if (error) {
                        error->code = c;
                        error->message = m ? m : dup_n("", 0);
                        error->data = data ? dup_n(data, n) : NULL;
                    } else {
                        free(m);
                    }
                    rc = -1;
                } else {
                    *result = dup_n(env.result.p, env.result.len);
                    if (!*result) {
                        set_error(error, WASPLUG_INTERNAL_ERROR, "out of memory");
                        rc = -1;
                    }
                }
                free(text);
                return rc;
            }
            log_line("dropped a response to no host call in flight: ", text);
            free(text);
            continue;
        }
        /* A request or notification for us (or garbage): after this call. */
        line *l = malloc(sizeof *l);
        if (!l) {
            free(text);
            continue;
        }
        l->text = text;
        l->len = len;
        l->next = NULL;
        if (queue_tail) queue_tail->next = l;
        else queue_head = l;
        queue_tail = l;
    }
}

;; A wasplug plugin written in WebAssembly text from docs/PROTOCOL.md alone,
;; without reading any kit's source or the test plugin: the proof that the
;; spec is enough to write a plugin in a language without a kit (issue 12).
;; `wasplug check tests/guests/wat/from_spec.wat` passes; so does the test
;; `tests/tests/hdk/conformance.rs`, which runs the same battery.
;;
;; What it does (section numbers of PROTOCOL.md):
;; - reads stdin into a 1 MiB buffer, a line at a time, lines split across
;;   reads or several in one read (§3); a longer line is dropped up to its
;;   `\n` and answered -32600 (P-8); a final line without `\n` is handled;
;; - checks each line is UTF-8 and JSON (a full validator, nesting up to 64),
;;   else -32700 with id null (P-8);
;; - a batch, or JSON that is not a valid request, -32600 (P-9), with the
;;   id of a request with a valid id, null otherwise;
;; - ids are copied verbatim from the request's text, so `7` stays `7` and
;;   `"7"` stays `"7"` (P-4);
;; - notifications (no `id`) are never answered (P-5);
;; - `rpc.discover` answers the document of §7 (P-10); `add [a, b]` adds two
;;   64-bit integers, -32602 for anything else (P-7), error 1 on overflow;
;;   any other method -32601 with the method name as `data` (P-6);
;; - each answer is flushed before the next read (P-11); end of input returns
;;   from `_start`, status 0 (P-13); it makes no host calls and logs nothing.
;; - the manifest is in the custom section `wasplug_manifest`, the version in
;;   `wasplug_protocol` too (§8, P-16).
;;
;; Memory: 0..64 scratch (iovecs), 512..576 a formatted number, 1024..4096
;; NUL-terminated texts, 64 KiB.. the input line buffer, 1.125 MiB.. output.
(module
  (@custom "wasplug_manifest" "{\"name\":\"from-spec\",\"version\":\"1.0.0\",\"protocol\":1,\"description\":\"A plugin in WebAssembly text, written from docs/PROTOCOL.md alone\",\"methods\":[\"add\"]}")
  (@custom "wasplug_protocol" "1")

  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 40)

  ;; The input buffer, its capacity and fill; the output buffer, likewise.
  (global $IN i32 (i32.const 0x10000))
  (global $IN_CAP i32 (i32.const 0x100000))
  (global $len (mut i32) (i32.const 0))
  (global $OUT i32 (i32.const 0x120000))
  (global $OUT_CAP i32 (i32.const 0x100000))
  (global $out (mut i32) (i32.const 0))
  ;; Set while dropping the rest of a line too long for the buffer.
  (global $discard (mut i32) (i32.const 0))
  ;; The members of the message being handled: start and end of each
  ;; value's text, start 0 when absent.
  (global $jsonrpc_s (mut i32) (i32.const 0)) (global $jsonrpc_e (mut i32) (i32.const 0))
  (global $id_s (mut i32) (i32.const 0)) (global $id_e (mut i32) (i32.const 0))
  (global $method_s (mut i32) (i32.const 0)) (global $method_e (mut i32) (i32.const 0))
  (global $params_s (mut i32) (i32.const 0)) (global $params_e (mut i32) (i32.const 0))
  (global $result (mut i32) (i32.const 0))
  (global $error (mut i32) (i32.const 0))
  ;; The integer `$int` parsed, when `$int_ok`.
  (global $int (mut i64) (i64.const 0))

  ;; The answer to rpc.discover (§7).
  (data (i32.const 1024) "{\"openrpc\":\"1.3.2\",\"info\":{\"title\":\"from-spec\",\"version\":\"1.0.0\",\"description\":\"A plugin in WebAssembly text, written from docs/PROTOCOL.md alone\",\"x-wasplug-protocol\":1},\"methods\":[{\"name\":\"add\",\"description\":\"Adds two 64-bit integers\",\"paramStructure\":\"by-position\",\"params\":[{\"name\":\"a\",\"required\":true,\"schema\":{\"type\":\"integer\"}},{\"name\":\"b\",\"required\":true,\"schema\":{\"type\":\"integer\"}}],\"result\":{\"name\":\"sum\",\"schema\":{\"type\":\"integer\"}}}],\"components\":{\"schemas\":{}}}\00")
  ;; Pieces of answers.
  (data (i32.const 2048) "{\"jsonrpc\":\"2.0\",\"id\":\00")
  (data (i32.const 2112) ",\"result\":\00")
  (data (i32.const 2176) ",\"error\":{\"code\":\00")
  (data (i32.const 2240) ",\"message\":\"\00")
  (data (i32.const 2304) "\",\"data\":\00")
  (data (i32.const 2368) "null\00")
  (data (i32.const 2400) "}\0a\00")
  (data (i32.const 2432) "}}\0a\00")
  (data (i32.const 2464) "\"}}\0a\00")
  ;; Error messages.
  (data (i32.const 2496) "Parse error\00")
  (data (i32.const 2528) "Invalid request\00")
  (data (i32.const 2560) "Method not found\00")
  (data (i32.const 2592) "Invalid params\00")
  (data (i32.const 2624) "Overflow\00")
  ;; Error data (JSON strings).
  (data (i32.const 2688) "\"the line is not JSON\"\00")
  (data (i32.const 2752) "\"the line is not UTF-8\"\00")
  (data (i32.const 2816) "\"the line is longer than 1 MiB\"\00")
  (data (i32.const 2880) "\"batches are not supported\"\00")
  (data (i32.const 2944) "\"a message is a JSON object\"\00")
  (data (i32.const 3008) "\"no method\"\00")
  (data (i32.const 3072) "\"jsonrpc must be 2.0\"\00")
  (data (i32.const 3136) "\"method must be a string\"\00")
  (data (i32.const 3200) "\"id must be a string or a non-negative integer\"\00")
  (data (i32.const 3264) "\"params must be an array or an object\"\00")
  (data (i32.const 3328) "\"add takes two integers: [a, b]\"\00")
  (data (i32.const 3392) "\"the sum does not fit in 64 bits\"\00")
  ;; Member names and values compared with a message's text.
  (data (i32.const 3520) "\"jsonrpc\"\00")
  (data (i32.const 3536) "\"id\"\00")
  (data (i32.const 3552) "\"method\"\00")
  (data (i32.const 3568) "\"params\"\00")
  (data (i32.const 3584) "\"result\"\00")
  (data (i32.const 3600) "\"error\"\00")
  (data (i32.const 3616) "\"2.0\"\00")
  (data (i32.const 3632) "\"rpc.discover\"\00")
  (data (i32.const 3664) "\"add\"\00")
  (data (i32.const 3680) "true\00")
  (data (i32.const 3696) "false\00")
  (data (i32.const 3712) "18446744073709551615\00")

  ;; ---- bytes and texts ----

  ;; The byte at `p`, or -1 at or past `e`.
  (func $at (param $p i32) (param $e i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $p) (local.get $e))
      (then (i32.load8_u (local.get $p)))
      (else (i32.const -1))))

  ;; The length of the NUL-terminated text at `s`.
  (func $strlen (param $s i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $s))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.sub (local.get $p) (local.get $s)))

  ;; Whether the text [s, e) is the NUL-terminated text at `lit`.
  (func $equals (param $s i32) (param $e i32) (param $lit i32) (result i32)
    (local $n i32)
    (local.set $n (call $strlen (local.get $lit)))
    (if (i32.ne (local.get $n) (i32.sub (local.get $e) (local.get $s)))
      (then (return (i32.const 0))))
    (block $differ
      (loop $next
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (local.get $s)) (i32.load8_u (local.get $lit))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (local.set $lit (i32.add (local.get $lit) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; Whether [s, e) is well-formed UTF-8 (no overlong forms, no surrogates,
  ;; nothing past U+10FFFF).
  (func $utf8 (param $p i32) (param $e i32) (result i32)
    (local $c i32) (local $n i32) (local $lo i32) (local $hi i32) (local $d i32)
    (block $bad
      (loop $next
        (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const 1))))
        (local.set $c (i32.load8_u (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $c) (i32.const 0x80)))
        ;; The number of continuation bytes, and the range of the first.
        (local.set $lo (i32.const 0x80))
        (local.set $hi (i32.const 0xbf))
        (if (i32.lt_u (local.get $c) (i32.const 0xc2)) (then (br $bad)))
        (if (i32.lt_u (local.get $c) (i32.const 0xe0))
          (then (local.set $n (i32.const 1)))
          (else (if (i32.lt_u (local.get $c) (i32.const 0xf0))
            (then
              (local.set $n (i32.const 2))
              (if (i32.eq (local.get $c) (i32.const 0xe0)) (then (local.set $lo (i32.const 0xa0))))
              (if (i32.eq (local.get $c) (i32.const 0xed)) (then (local.set $hi (i32.const 0x9f)))))
            (else (if (i32.lt_u (local.get $c) (i32.const 0xf5))
              (then
                (local.set $n (i32.const 3))
                (if (i32.eq (local.get $c) (i32.const 0xf0)) (then (local.set $lo (i32.const 0x90))))
                (if (i32.eq (local.get $c) (i32.const 0xf4)) (then (local.set $hi (i32.const 0x8f)))))
              (else (br $bad)))))))
        (loop $cont
          (local.set $d (call $at (local.get $p) (local.get $e)))
          (br_if $bad (i32.lt_s (local.get $d) (local.get $lo)))
          (br_if $bad (i32.gt_s (local.get $d) (local.get $hi)))
          (local.set $lo (i32.const 0x80))
          (local.set $hi (i32.const 0xbf))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $cont (local.get $n)))
        (br $next)))
    (i32.const 0))

  ;; ---- JSON ----

  ;; Past the whitespace at `p`.
  (func $ws (param $p i32) (param $e i32) (result i32)
    (local $c i32)
    (block $done
      (loop $next
        (local.set $c (call $at (local.get $p) (local.get $e)))
        (br_if $done (i32.eqz (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20))
                                              (i32.eq (local.get $c) (i32.const 0x09)))
                                      (i32.or (i32.eq (local.get $c) (i32.const 0x0a))
                                              (i32.eq (local.get $c) (i32.const 0x0d))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  (func $is_digit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)))

  (func $is_hex (param $c i32) (result i32)
    (i32.or (call $is_digit (local.get $c))
      (i32.lt_u (i32.sub (i32.or (local.get $c) (i32.const 0x20)) (i32.const 0x61)) (i32.const 6))))

  ;; Past the digits at `p`.
  (func $digits (param $p i32) (param $e i32) (result i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (call $is_digit (call $at (local.get $p) (local.get $e)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; The end of the JSON string at `p`, or -1.
  (func $string_end (param $p i32) (param $e i32) (result i32)
    (local $c i32) (local $i i32)
    (if (i32.ne (call $at (local.get $p) (local.get $e)) (i32.const 0x22))
      (then (return (i32.const -1))))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (loop $next
      (local.set $c (call $at (local.get $p) (local.get $e)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      ;; The end of the line, or a control character.
      (if (i32.lt_s (local.get $c) (i32.const 0x20)) (then (return (i32.const -1))))
      (if (i32.eq (local.get $c) (i32.const 0x22)) (then (return (local.get $p))))
      (if (i32.eq (local.get $c) (i32.const 0x5c))
        (then
          (local.set $c (call $at (local.get $p) (local.get $e)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (if (i32.eq (local.get $c) (i32.const 0x75)) ;; \uXXXX
            (then
              (local.set $i (i32.const 4))
              (loop $hex
                (if (i32.eqz (call $is_hex (call $at (local.get $p) (local.get $e))))
                  (then (return (i32.const -1))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (local.set $i (i32.sub (local.get $i) (i32.const 1)))
                (br_if $hex (local.get $i))))
            (else
              ;; One of " \ / b f n r t.
              (if (i32.eqz (i32.or
                    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x22)) (i32.eq (local.get $c) (i32.const 0x5c)))
                            (i32.or (i32.eq (local.get $c) (i32.const 0x2f)) (i32.eq (local.get $c) (i32.const 0x62))))
                    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x66)) (i32.eq (local.get $c) (i32.const 0x6e)))
                            (i32.or (i32.eq (local.get $c) (i32.const 0x72)) (i32.eq (local.get $c) (i32.const 0x74))))))
                (then (return (i32.const -1))))))))
      (br $next))
    (unreachable))

  ;; The end of the JSON number at `p`, or -1.
  (func $number_end (param $p i32) (param $e i32) (result i32)
    (local $c i32) (local $q i32)
    (if (i32.eq (call $at (local.get $p) (local.get $e)) (i32.const 0x2d))
      (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
    (local.set $c (call $at (local.get $p) (local.get $e)))
    (if (i32.eq (local.get $c) (i32.const 0x30))
      (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
      (else
        (if (i32.eqz (call $is_digit (local.get $c))) (then (return (i32.const -1))))
        (local.set $p (call $digits (local.get $p) (local.get $e)))))
    (if (i32.eq (call $at (local.get $p) (local.get $e)) (i32.const 0x2e))
      (then
        (local.set $q (call $digits (i32.add (local.get $p) (i32.const 1)) (local.get $e)))
        (if (i32.eq (local.get $q) (i32.add (local.get $p) (i32.const 1)))
          (then (return (i32.const -1))))
        (local.set $p (local.get $q))))
    (if (i32.eq (i32.or (call $at (local.get $p) (local.get $e)) (i32.const 0x20)) (i32.const 0x65))
      (then
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $c (call $at (local.get $p) (local.get $e)))
        (if (i32.or (i32.eq (local.get $c) (i32.const 0x2b)) (i32.eq (local.get $c) (i32.const 0x2d)))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (local.set $q (call $digits (local.get $p) (local.get $e)))
        (if (i32.eq (local.get $q) (local.get $p)) (then (return (i32.const -1))))
        (local.set $p (local.get $q))))
    (local.get $p))

  ;; The end of the literal `lit` at `p`, or -1.
  (func $literal_end (param $p i32) (param $e i32) (param $lit i32) (result i32)
    (local $n i32)
    (local.set $n (call $strlen (local.get $lit)))
    (if (i32.gt_u (local.get $n) (i32.sub (local.get $e) (local.get $p)))
      (then (return (i32.const -1))))
    (if (call $equals (local.get $p) (i32.add (local.get $p) (local.get $n)) (local.get $lit))
      (then (return (i32.add (local.get $p) (local.get $n)))))
    (i32.const -1))

  ;; The end of the JSON value at `p` (no whitespace before it), or -1 when
  ;; it is not JSON or nests deeper than 64.
  (func $value_end (param $p i32) (param $e i32) (param $depth i32) (result i32)
    (local $c i32) (local $close i32)
    (if (i32.gt_u (local.get $depth) (i32.const 64)) (then (return (i32.const -1))))
    (local.set $c (call $at (local.get $p) (local.get $e)))
    (if (i32.eq (local.get $c) (i32.const 0x22))
      (then (return (call $string_end (local.get $p) (local.get $e)))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 0x2d)) (call $is_digit (local.get $c)))
      (then (return (call $number_end (local.get $p) (local.get $e)))))
    (if (i32.eq (local.get $c) (i32.const 0x74))
      (then (return (call $literal_end (local.get $p) (local.get $e) (i32.const 3680)))))
    (if (i32.eq (local.get $c) (i32.const 0x66))
      (then (return (call $literal_end (local.get $p) (local.get $e) (i32.const 3696)))))
    (if (i32.eq (local.get $c) (i32.const 0x6e))
      (then (return (call $literal_end (local.get $p) (local.get $e) (i32.const 2368)))))
    ;; An object ({ "k": v, ... }) or an array ([ v, ... ]).
    (if (i32.eq (local.get $c) (i32.const 0x7b))
      (then (local.set $close (i32.const 0x7d)))
      (else (if (i32.eq (local.get $c) (i32.const 0x5b))
        (then (local.set $close (i32.const 0x5d)))
        (else (return (i32.const -1))))))
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $e)))
    (if (i32.eq (call $at (local.get $p) (local.get $e)) (local.get $close))
      (then (return (i32.add (local.get $p) (i32.const 1)))))
    (loop $member
      (if (i32.eq (local.get $close) (i32.const 0x7d))
        (then
          (local.set $p (call $string_end (local.get $p) (local.get $e)))
          (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const -1))))
          (local.set $p (call $ws (local.get $p) (local.get $e)))
          (if (i32.ne (call $at (local.get $p) (local.get $e)) (i32.const 0x3a))
            (then (return (i32.const -1))))
          (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $e)))))
      (local.set $p (call $value_end (local.get $p) (local.get $e)
                      (i32.add (local.get $depth) (i32.const 1))))
      (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const -1))))
      (local.set $p (call $ws (local.get $p) (local.get $e)))
      (local.set $c (call $at (local.get $p) (local.get $e)))
      (if (i32.eq (local.get $c) (local.get $close))
        (then (return (i32.add (local.get $p) (i32.const 1)))))
      (if (i32.ne (local.get $c) (i32.const 0x2c)) (then (return (i32.const -1))))
      (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $e)))
      (br $member))
    (unreachable))

  ;; Whether the JSON value [s, e) is a valid id (P-3): a string, or an
  ;; integer from 0 to 2^64 - 1 written as plain digits.
  (func $valid_id (param $s i32) (param $e i32) (result i32)
    (local $n i32)
    (if (i32.eq (call $at (local.get $s) (local.get $e)) (i32.const 0x22))
      (then (return (i32.const 1))))
    (if (i32.ne (call $digits (local.get $s) (local.get $e)) (local.get $e))
      (then (return (i32.const 0))))
    (local.set $n (i32.sub (local.get $e) (local.get $s)))
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (if (i32.lt_u (local.get $n) (i32.const 20)) (then (return (i32.const 1))))
    (if (i32.gt_u (local.get $n) (i32.const 20)) (then (return (i32.const 0))))
    ;; 20 digits: no more than 18446744073709551615, compared digit by digit.
    (local.set $n (i32.const 3712))
    (loop $next
      (if (i32.lt_u (i32.load8_u (local.get $s)) (i32.load8_u (local.get $n)))
        (then (return (i32.const 1))))
      (if (i32.gt_u (i32.load8_u (local.get $s)) (i32.load8_u (local.get $n)))
        (then (return (i32.const 0))))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $s) (local.get $e))))
    (i32.const 1))

  ;; Parses the JSON value [s, e) as a 64-bit integer written without
  ;; fraction or exponent into $int; 0 when it is not one or does not fit.
  (func $parse_int (param $s i32) (param $e i32) (result i32)
    (local $neg i32) (local $acc i64)
    (if (i32.eq (call $at (local.get $s) (local.get $e)) (i32.const 0x2d))
      (then
        (local.set $neg (i32.const 1))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))))
    (if (i32.or (i32.eq (local.get $s) (local.get $e))
                (i32.ne (call $digits (local.get $s) (local.get $e)) (local.get $e)))
      (then (return (i32.const 0))))
    ;; 19 digits fit in an unsigned 64-bit integer.
    (if (i32.gt_u (i32.sub (local.get $e) (local.get $s)) (i32.const 19))
      (then (return (i32.const 0))))
    (loop $next
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 10))
                               (i64.extend_i32_u (i32.sub (i32.load8_u (local.get $s)) (i32.const 0x30)))))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $s) (local.get $e))))
    ;; At most 2^63 - 1, or 2^63 when negative.
    (if (i64.gt_u (local.get $acc)
                  (i64.add (i64.const 0x7fffffffffffffff) (i64.extend_i32_u (local.get $neg))))
      (then (return (i32.const 0))))
    (global.set $int (if (result i64) (local.get $neg)
      (then (i64.sub (i64.const 0) (local.get $acc)))
      (else (local.get $acc))))
    (i32.const 1))

  ;; ---- output ----

  ;; Writes [p, p + n) to stdout, all of it (fd_write may write less).
  (func $write_all (param $p i32) (param $n i32)
    (loop $more
      (if (i32.eqz (local.get $n)) (then (return)))
      (i32.store (i32.const 16) (local.get $p))
      (i32.store (i32.const 20) (local.get $n))
      ;; The host reading stdout is gone: nothing more to say.
      (if (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))
        (then (return)))
      (local.set $p (i32.add (local.get $p) (i32.load (i32.const 24))))
      (local.set $n (i32.sub (local.get $n) (i32.load (i32.const 24))))
      (br $more)))

  ;; Writes what the output buffer holds (P-11).
  (func $flush
    (call $write_all (global.get $OUT) (global.get $out))
    (global.set $out (i32.const 0)))

  ;; Appends [p, p + n) to the output buffer (a long piece is written at
  ;; once: a message may take several writes, §3).
  (func $put (param $p i32) (param $n i32)
    (if (i32.gt_u (local.get $n) (i32.sub (global.get $OUT_CAP) (global.get $out)))
      (then (call $flush)))
    (if (i32.gt_u (local.get $n) (global.get $OUT_CAP))
      (then (call $write_all (local.get $p) (local.get $n)) (return)))
    (memory.copy (i32.add (global.get $OUT) (global.get $out)) (local.get $p) (local.get $n))
    (global.set $out (i32.add (global.get $out) (local.get $n))))

  (func $put0 (param $lit i32)
    (call $put (local.get $lit) (call $strlen (local.get $lit))))

  ;; Formats `v` in decimal at 512; returns the end.
  (func $format (param $v i64) (result i32)
    (local $m i64) (local $p i32) (local $q i32) (local $c i32)
    (local.set $p (i32.const 512))
    (local.set $m (local.get $v))
    (if (i64.lt_s (local.get $v) (i64.const 0))
      (then
        (i32.store8 (local.get $p) (i32.const 0x2d))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $m (i64.sub (i64.const 0) (local.get $v)))))
    ;; The digits backwards (the magnitude as unsigned: 2^63 included), then reversed.
    (local.set $q (local.get $p))
    (loop $digit
      (i32.store8 (local.get $q)
        (i32.add (i32.const 0x30) (i32.wrap_i64 (i64.rem_u (local.get $m) (i64.const 10)))))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (local.set $m (i64.div_u (local.get $m) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $m) (i64.const 0))))
    (local.set $v (i64.extend_i32_u (local.get $q)))
    (local.set $q (i32.sub (local.get $q) (i32.const 1)))
    (block $done
      (loop $swap
        (br_if $done (i32.ge_u (local.get $p) (local.get $q)))
        (local.set $c (i32.load8_u (local.get $p)))
        (i32.store8 (local.get $p) (i32.load8_u (local.get $q)))
        (i32.store8 (local.get $q) (local.get $c))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $q (i32.sub (local.get $q) (i32.const 1)))
        (br $swap)))
    (i32.wrap_i64 (local.get $v)))

  ;; `{"jsonrpc":"2.0","id":` and the id's text verbatim (P-4), or null
  ;; when `s` is 0.
  (func $begin (param $s i32) (param $e i32)
    (call $put0 (i32.const 2048))
    (if (local.get $s)
      (then (call $put (local.get $s) (i32.sub (local.get $e) (local.get $s))))
      (else (call $put0 (i32.const 2368)))))

  ;; Answers id [s, e) (null when `s` is 0) with `result` [r, re).
  (func $answer (param $s i32) (param $e i32) (param $r i32) (param $re i32)
    (call $begin (local.get $s) (local.get $e))
    (call $put0 (i32.const 2112))
    (call $put (local.get $r) (i32.sub (local.get $re) (local.get $r)))
    (call $put0 (i32.const 2400))
    (call $flush))

  ;; Answers id [s, e) (null when `s` is 0) with an error: `code`, the
  ;; NUL-terminated `message`, and `data` [d, de) when `d` is not 0.
  (func $fail (param $s i32) (param $e i32) (param $code i64) (param $message i32)
              (param $d i32) (param $de i32)
    (call $begin (local.get $s) (local.get $e))
    (call $put0 (i32.const 2176))
    (call $put (i32.const 512) (i32.sub (call $format (local.get $code)) (i32.const 512)))
    (call $put0 (i32.const 2240))
    (call $put0 (local.get $message))
    (if (local.get $d)
      (then
        (call $put0 (i32.const 2304))
        (call $put (local.get $d) (i32.sub (local.get $de) (local.get $d)))
        (call $put0 (i32.const 2432)))
      (else (call $put0 (i32.const 2464))))
    (call $flush))

  ;; An error whose data is the NUL-terminated JSON text `data`.
  (func $fail0 (param $s i32) (param $e i32) (param $code i64) (param $message i32) (param $data i32)
    (call $fail (local.get $s) (local.get $e) (local.get $code) (local.get $message)
      (local.get $data) (i32.add (local.get $data) (call $strlen (local.get $data)))))

  ;; -32600 (P-9) with the request's id when it has a valid one (§6); only
  ;; called once the message is known to have a `method`.
  (func $invalid (param $data i32)
    (if (i32.and (i32.ne (global.get $id_s) (i32.const 0))
                 (call $valid_id (global.get $id_s) (global.get $id_e)))
      (then (call $fail0 (global.get $id_s) (global.get $id_e) (i64.const -32600) (i32.const 2528) (local.get $data)))
      (else (call $fail0 (i32.const 0) (i32.const 0) (i64.const -32600) (i32.const 2528) (local.get $data)))))

  ;; ---- messages ----

  ;; `add` [a, b] (P-7 for anything else).
  (func $add
    (local $p i32) (local $e i32) (local $a_s i32) (local $a_e i32) (local $b_s i32) (local $b_e i32)
    (local $a i64) (local $sum i64)
    (block $bad
      (br_if $bad (i32.eqz (global.get $params_s)))
      (local.set $e (global.get $params_e))
      (br_if $bad (i32.ne (i32.load8_u (global.get $params_s)) (i32.const 0x5b)))
      (local.set $a_s (call $ws (i32.add (global.get $params_s) (i32.const 1)) (local.get $e)))
      (local.set $a_e (call $value_end (local.get $a_s) (local.get $e) (i32.const 1)))
      (br_if $bad (i32.lt_s (local.get $a_e) (i32.const 0)))
      (local.set $p (call $ws (local.get $a_e) (local.get $e)))
      (br_if $bad (i32.ne (call $at (local.get $p) (local.get $e)) (i32.const 0x2c)))
      (local.set $b_s (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $e)))
      (local.set $b_e (call $value_end (local.get $b_s) (local.get $e) (i32.const 1)))
      (br_if $bad (i32.lt_s (local.get $b_e) (i32.const 0)))
      (local.set $p (call $ws (local.get $b_e) (local.get $e)))
      (br_if $bad (i32.ne (call $at (local.get $p) (local.get $e)) (i32.const 0x5d)))
      (br_if $bad (i32.eqz (call $parse_int (local.get $a_s) (local.get $a_e))))
      (local.set $a (global.get $int))
      (br_if $bad (i32.eqz (call $parse_int (local.get $b_s) (local.get $b_e))))
      (local.set $sum (i64.add (local.get $a) (global.get $int)))
      ;; Overflow: both addends of one sign, the sum of the other.
      (if (i64.lt_s (i64.and (i64.xor (local.get $a) (local.get $sum))
                             (i64.xor (global.get $int) (local.get $sum)))
                    (i64.const 0))
        (then
          (call $fail0 (global.get $id_s) (global.get $id_e) (i64.const 1) (i32.const 2624) (i32.const 3392))
          (return)))
      (call $answer (global.get $id_s) (global.get $id_e) (i32.const 512) (call $format (local.get $sum)))
      (return))
    (call $fail0 (global.get $id_s) (global.get $id_e) (i64.const -32602) (i32.const 2592) (i32.const 3328)))

  ;; Handles one line [s, e) without its `\n`.
  (func $line (param $s i32) (param $e i32)
    (local $p i32) (local $c i32) (local $k i32) (local $ke i32) (local $v i32) (local $ve i32)
    (if (i32.eq (call $at (i32.sub (local.get $e) (i32.const 1)) (local.get $e)) (i32.const 0x0d))
      (then (local.set $e (i32.sub (local.get $e) (i32.const 1)))))
    (local.set $p (call $ws (local.get $s) (local.get $e)))
    ;; A blank line carries nothing (H-1).
    (if (i32.eq (local.get $p) (local.get $e)) (then (return)))
    ;; P-8: not UTF-8, not JSON.
    (if (i32.eqz (call $utf8 (local.get $s) (local.get $e)))
      (then (call $fail0 (i32.const 0) (i32.const 0) (i64.const -32700) (i32.const 2496) (i32.const 2752))
            (return)))
    (local.set $c (call $value_end (local.get $p) (local.get $e) (i32.const 0)))
    (if (i32.or (i32.lt_s (local.get $c) (i32.const 0))
                (i32.ne (call $ws (local.get $c) (local.get $e)) (local.get $e)))
      (then (call $fail0 (i32.const 0) (i32.const 0) (i64.const -32700) (i32.const 2496) (i32.const 2688))
            (return)))
    (global.set $id_s (i32.const 0))
    (global.set $jsonrpc_s (i32.const 0))
    (global.set $method_s (i32.const 0))
    (global.set $params_s (i32.const 0))
    (global.set $result (i32.const 0))
    (global.set $error (i32.const 0))
    ;; P-9: a batch, or not an object.
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 0x5b)) (then (call $invalid (i32.const 2880)) (return)))
    (if (i32.ne (local.get $c) (i32.const 0x7b)) (then (call $invalid (i32.const 2944)) (return)))
    ;; The members (the JSON is valid: no checks needed while walking it).
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $e)))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x7d))
      (then
        (loop $member
          (local.set $k (local.get $p))
          (local.set $ke (call $string_end (local.get $p) (local.get $e)))
          (local.set $v (call $ws (i32.add (call $ws (local.get $ke) (local.get $e)) (i32.const 1)) (local.get $e)))
          (local.set $ve (call $value_end (local.get $v) (local.get $e) (i32.const 1)))
          (if (call $equals (local.get $k) (local.get $ke) (i32.const 3520))
            (then (global.set $jsonrpc_s (local.get $v)) (global.set $jsonrpc_e (local.get $ve))))
          (if (call $equals (local.get $k) (local.get $ke) (i32.const 3536))
            (then (global.set $id_s (local.get $v)) (global.set $id_e (local.get $ve))))
          (if (call $equals (local.get $k) (local.get $ke) (i32.const 3552))
            (then (global.set $method_s (local.get $v)) (global.set $method_e (local.get $ve))))
          (if (call $equals (local.get $k) (local.get $ke) (i32.const 3568))
            (then (global.set $params_s (local.get $v)) (global.set $params_e (local.get $ve))))
          (if (call $equals (local.get $k) (local.get $ke) (i32.const 3584))
            (then (global.set $result (i32.const 1))))
          (if (call $equals (local.get $k) (local.get $ke) (i32.const 3600))
            (then (global.set $error (i32.const 1))))
          (local.set $p (call $ws (local.get $ve) (local.get $e)))
          (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x2c))
            (then
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $e)))
              (br $member))))))
    (if (i32.eqz (global.get $method_s))
      (then
        ;; A response (to a host call: this plugin makes none) is ignored (§6).
        (if (i32.and (i32.ne (global.get $id_s) (i32.const 0))
                     (i32.or (global.get $result) (global.get $error)))
          (then (return)))
        ;; Perhaps a broken response: its id is not ours to echo (P-9).
        (call $fail0 (i32.const 0) (i32.const 0) (i64.const -32600) (i32.const 2528) (i32.const 3008))
        (return)))
    (if (i32.or (i32.eqz (global.get $jsonrpc_s))
                (i32.eqz (call $equals (global.get $jsonrpc_s) (global.get $jsonrpc_e) (i32.const 3616))))
      (then (call $invalid (i32.const 3072)) (return)))
    (if (i32.ne (i32.load8_u (global.get $method_s)) (i32.const 0x22))
      (then (call $invalid (i32.const 3136)) (return)))
    (if (i32.and (i32.ne (global.get $id_s) (i32.const 0))
                 (i32.eqz (call $valid_id (global.get $id_s) (global.get $id_e))))
      (then (call $invalid (i32.const 3200)) (return)))
    (if (global.get $params_s)
      (then
        (local.set $c (i32.load8_u (global.get $params_s)))
        (if (i32.and (i32.ne (local.get $c) (i32.const 0x5b)) (i32.ne (local.get $c) (i32.const 0x7b)))
          (then (call $invalid (i32.const 3264)) (return)))))
    ;; P-5: a notification is never answered; this plugin handles none.
    (if (i32.eqz (global.get $id_s)) (then (return)))
    (if (call $equals (global.get $method_s) (global.get $method_e) (i32.const 3632))
      (then
        (call $answer (global.get $id_s) (global.get $id_e) (i32.const 1024)
          (i32.add (i32.const 1024) (call $strlen (i32.const 1024))))
        (return)))
    (if (call $equals (global.get $method_s) (global.get $method_e) (i32.const 3664))
      (then (call $add) (return)))
    ;; P-6: the method name as data.
    (call $fail (global.get $id_s) (global.get $id_e) (i64.const -32601) (i32.const 2560)
      (global.get $method_s) (global.get $method_e)))

  ;; Reads stdin line by line until it ends (P-17, P-13).
  (func (export "_start")
    (local $p i32) (local $start i32) (local $end i32) (local $n i32)
    (loop $read
      ;; A full buffer and no `\n`: the line is too long; drop it to its end.
      (if (i32.eq (global.get $len) (global.get $IN_CAP))
        (then (global.set $discard (i32.const 1)) (global.set $len (i32.const 0))))
      (i32.store (i32.const 0) (i32.add (global.get $IN) (global.get $len)))
      (i32.store (i32.const 4) (i32.sub (global.get $IN_CAP) (global.get $len)))
      ;; A read error ends input as end of file does.
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (i32.store (i32.const 8) (i32.const 0))))
      (local.set $n (i32.load (i32.const 8)))
      (if (i32.eqz (local.get $n))
        (then
          ;; End of input: a last line without `\n` is handled too.
          (if (i32.and (i32.eqz (global.get $discard)) (i32.ne (global.get $len) (i32.const 0)))
            (then (call $line (global.get $IN) (i32.add (global.get $IN) (global.get $len)))))
          (return)))
      (local.set $start (global.get $IN))
      (local.set $p (i32.add (global.get $IN) (global.get $len)))
      (local.set $end (i32.add (local.get $p) (local.get $n)))
      (block $scanned
        (loop $scan
          (br_if $scanned (i32.ge_u (local.get $p) (local.get $end)))
          (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x0a))
            (then
              (if (global.get $discard)
                (then
                  (global.set $discard (i32.const 0))
                  (call $fail0 (i32.const 0) (i32.const 0) (i64.const -32600) (i32.const 2528) (i32.const 2816)))
                (else (call $line (local.get $start) (local.get $p))))
              (local.set $start (i32.add (local.get $p) (i32.const 1)))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $scan)))
      ;; Keep the start of the next line (none while dropping one).
      (if (global.get $discard)
        (then (global.set $len (i32.const 0)))
        (else
          (global.set $len (i32.sub (local.get $end) (local.get $start)))
          (memory.copy (global.get $IN) (local.get $start) (global.get $len))))
      (br $read)))
)

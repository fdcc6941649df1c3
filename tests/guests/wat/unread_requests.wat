;; Sends host requests (each 1 KiB of params) as fast as it can and never
;; reads an answer. Each has its own id (a string of 8 digits, counting up):
;; ids must be unique among the host calls in flight (P-3).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; {"jsonrpc":"2.0","id":"NNNNNNNN","method":"echo","params":["xxxx...."]}\n
  (data (i32.const 100) "{\"jsonrpc\":\"2.0\",\"id\":\"00000000\",\"method\":\"echo\",\"params\":[\"")
  (data (i32.const 2000) "\"]}\n")
  (func (export "_start")
    (local $i i32) (local $n i32) (local $p i32)
    ;; fill 1 KiB of 'x' after the prefix (60 bytes long)
    (memory.fill (i32.const 160) (i32.const 120) (i32.const 1024))
    ;; iovecs: prefix+payload (100, 1084), suffix (2000, 4)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1084))
    (i32.store (i32.const 8) (i32.const 2000))
    (i32.store (i32.const 12) (i32.const 4))
    (loop $again
      ;; the id: $i in 8 decimal digits at 123..131
      (local.set $n (local.get $i))
      (local.set $p (i32.const 130))
      (loop $digit
        (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
        (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br_if $digit (i32.ge_u (local.get $p) (i32.const 123))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))
      (br $again))))

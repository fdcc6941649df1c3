;; Sends host requests (each 1 KiB of params) as fast as it can and never
;; reads an answer.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; {"jsonrpc":"2.0","id":1,"method":"echo","params":["xxxx...."]}\n
  (data (i32.const 100) "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"")
  (data (i32.const 2000) "\"]}\n")
  (func (export "_start")
    (local $i i32)
    ;; fill 1 KiB of 'x' after the prefix (51 bytes long)
    (memory.fill (i32.const 151) (i32.const 120) (i32.const 1024))
    ;; iovecs: prefix+payload (100, 1075), suffix (2000, 4)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1075))
    (i32.store (i32.const 8) (i32.const 2000))
    (i32.store (i32.const 12) (i32.const 4))
    (loop $again
      ;; every request has id 1: the host answers each anyway
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))
      (br $again))))

;; Imports two functions from outside WASI.
(module
  (import "env" "foo" (func (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "bar" (global i32))
  (memory (export "memory") 1)
  (func (export "_start")))

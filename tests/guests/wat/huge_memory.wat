;; Asks for 64 MiB of linear memory up front (1024 pages).
(module
  (memory (export "memory") 1024)
  (func (export "_start")))

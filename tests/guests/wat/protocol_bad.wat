;; Records a malformed protocol version.
(module
  (@custom "wasplug_protocol" "v1")
  (memory (export "memory") 1)
  (func (export "_start")))

;; Records protocol version 2, which this host does not speak.
(module
  (@custom "wasplug_protocol" "2")
  (memory (export "memory") 1)
  (func (export "_start")))

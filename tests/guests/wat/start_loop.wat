;; Its start function, which runs while the module is instantiated (before
;; `_start`), loops forever.
(module
  (memory (export "memory") 1)
  (func $forever (loop $again (br $again)))
  (start $forever)
  (func (export "_start")))

;; Exports `_start` but no memory.
(module (func (export "_start")))

// The kit, as `import { ... } from "wasplug-assemblyscript"` (asc resolves a
// package to its index.ts): everything is in assembly/index.ts.
export * from "./assembly/index";

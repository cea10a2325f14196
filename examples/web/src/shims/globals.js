// The Node globals GramJS uses without importing them, injected into the bundle (build.mjs).
import { Buffer } from "buffer";

export { Buffer };
export const process = { env: {}, browser: true, nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)) };

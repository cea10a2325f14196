// Node's util as GramJS's inspect.js uses it: only the custom-inspect symbol.
module.exports = { inspect: { custom: Symbol.for("nodejs.util.inspect.custom") } };

// A Node module GramJS requires but never calls in a browser (see build.mjs).
module.exports = {};

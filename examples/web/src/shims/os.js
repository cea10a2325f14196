// Node's os as GramJS uses it: the device model and system version it reports when the
// page gives none (app.js gives both).
module.exports = { type: () => "Browser", release: () => (typeof navigator === "object" ? navigator.userAgent : "") };

// GramJS's ./CryptoFile (Node's crypto as its default export) in a browser: its own
// WebCrypto-based telegram/crypto/crypto (see build.mjs).
Object.defineProperty(exports, "__esModule", { value: true });
exports.default = require("telegram/crypto/crypto");

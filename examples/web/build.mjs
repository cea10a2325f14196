// Builds the web chat page into dist/: the static files of static/ as they are, and
// src/app.js bundled with GramJS (npm telegram) for browsers by esbuild. Usage:
// `npm ci && node build.mjs [OUT_DIR]` (or `npm run build`; OUT_DIR defaults to dist/); then
// `server-kit --web examples/web/dist`.
//
// GramJS's npm package is written for Node first: its browser side needs what its own
// webpack build gives it. Here: a global Buffer (npm `buffer`, a GramJS dependency), its
// browser crypto (telegram/crypto/crypto.js, WebCrypto) in place of ./CryptoFile (Node's
// crypto), and no Node modules it only uses in Node (fs, net, os, path, socks, the
// node-localstorage session store); `util` gives only `inspect.custom`, `os` the device
// model.
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(process.argv[2] || path.join(here, "dist"));
const shims = path.join(here, "src", "shims");

// Node modules GramJS requires but does not use in a browser: an empty module each.
const EMPTY = ["fs", "net", "path", "socks", "node-localstorage", "constants", "stream"];

const nodeOnly = {
  name: "gramjs-browser",
  setup(build) {
    const empty = new RegExp(`^(${EMPTY.join("|")})$`);
    build.onResolve({ filter: empty }, () => ({ path: path.join(shims, "empty.js") }));
    build.onResolve({ filter: /^(util|os)$/ }, (args) => ({ path: path.join(shims, `${args.path}.js`) }));
    build.onResolve({ filter: /^\.\/CryptoFile$/ }, () => ({ path: path.join(shims, "CryptoFile.js") }));
  },
};

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });
for (const name of fs.readdirSync(path.join(here, "static"))) {
  fs.copyFileSync(path.join(here, "static", name), path.join(dist, name));
}
const result = await esbuild.build({
  entryPoints: [path.join(here, "src", "app.js")],
  bundle: true,
  outfile: path.join(dist, "app.js"),
  platform: "browser",
  format: "iife",
  target: ["es2020"],
  inject: [path.join(shims, "globals.js")],
  define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
  plugins: [nodeOnly],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`built ${path.relative(process.cwd(), dist) || "."}/ (${Math.round(bytes / 1024)} KiB)`);

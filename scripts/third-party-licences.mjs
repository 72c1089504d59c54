// Writes THIRD-PARTY-LICENSES (to stdout) for what the `footfall` binary contains besides our own code:
//   - the Rust crates compiled into it: the normal (not dev-only) dependencies of footfall-collector for
//     x86_64 Linux, and those of the tracker compiled to wasm32 and embedded in it;
//   - the data and JS embedded or served: uPlot (web/vendor), uap-core and crawler-user-agents
//     (collector/resources), MaxMind's GeoIP test databases (the demo).
// Offline: `cargo metadata` for the dependency graph and each crate's own licence files from the Cargo
// registry sources (`cargo fetch` puts them there). A crate that ships no licence file gets the standard
// text of the licence it declares (dist/licence-texts); a crate with neither makes this script fail.
// Identical texts are printed once, followed by every package they cover.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

const repo = join(dirname(new URL(import.meta.url).pathname), "..");
const LICENCE_FILE = /^(licen[cs]e|copying|notice|copyright|unlicen[cs]e)([-._].*)?$/i;
const STANDARD = join(repo, "dist/licence-texts");

function crates(manifestDir, platform, rootName) {
  const json = execFileSync(
    "cargo",
    ["metadata", "--format-version", "1", "--locked", "--filter-platform", platform],
    { cwd: manifestDir, encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "inherit"] },
  );
  const meta = JSON.parse(json);
  const packages = new Map(meta.packages.map((p) => [p.id, p]));
  const nodes = new Map(meta.resolve.nodes.map((n) => [n.id, n]));
  const root = meta.packages.find((p) => p.name === rootName && p.source === null);
  if (!root) throw new Error(`no workspace package ${rootName} in ${manifestDir}`);
  const seen = new Set();
  const stack = [root.id];
  while (stack.length) {
    const id = stack.pop();
    if (seen.has(id)) continue;
    seen.add(id);
    for (const dep of nodes.get(id).deps) {
      if (dep.dep_kinds.some((k) => k.kind === null)) stack.push(dep.pkg);
    }
  }
  // Path dependencies (source null) are this repository's own crates, under its licence.
  return [...seen].map((id) => packages.get(id)).filter((p) => p.source !== null);
}

function licenceFiles(dir) {
  return readdirSync(dir)
    .filter((name) => LICENCE_FILE.test(name) && statSync(join(dir, name)).isFile())
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
}

function standardTexts(expression) {
  const ids = [...new Set(expression.split(/[^A-Za-z0-9.+-]+/).filter((id) => !["OR", "AND", "WITH"].includes(id)))];
  return ids
    .filter((id) => existsSync(join(STANDARD, `${id}.txt`)))
    .map((id) => ({ name: `standard ${id} text (the crate ships no licence file)`, text: readFileSync(join(STANDARD, `${id}.txt`), "utf8") }));
}

const entries = []; // { label, licence, files }
const rust = [
  ...crates(repo, "x86_64-unknown-linux-gnu", "footfall-collector").map((p) => ({ p, part: "collector" })),
  ...crates(join(repo, "tracker-wasm"), "wasm32-unknown-unknown", "footfall-tracker").map((p) => ({ p, part: "tracker (wasm)" })),
];
const unique = new Map(rust.map((r) => [r.p.id, r]));
const missing = [];
for (const { p, part } of [...unique.values()].sort((a, b) => a.p.name.localeCompare(b.p.name) || a.p.version.localeCompare(b.p.version))) {
  const dir = dirname(p.manifest_path);
  if (!existsSync(dir)) throw new Error(`${p.name} ${p.version}: sources not in the Cargo registry (run cargo fetch)`);
  let files = licenceFiles(dir);
  if (p.license_file && !files.some((f) => join(dir, f.name) === join(dir, p.license_file))) {
    files.push({ name: p.license_file, text: readFileSync(join(dir, p.license_file), "utf8") });
  }
  if (files.length === 0) files = standardTexts(p.license ?? "");
  if (files.length === 0) missing.push(`${p.name} ${p.version} (${p.license ?? "no licence declared"})`);
  entries.push({ label: `${p.name} ${p.version}`, licence: p.license ?? p.license_file, where: `crates.io, ${part}`, authors: p.authors, files });
}
if (missing.length) throw new Error(`no licence text for: ${missing.join(", ")}`);

const embedded = [
  ["uPlot", "MIT", "web/vendor/uplot", "dashboard charts (JS and CSS, served by the collector)"],
  ["uap-core", "Apache-2.0", "collector/resources/uap-core", "user-agent regexes, embedded"],
  ["crawler-user-agents", "MIT", "collector/resources/crawler-user-agents", "crawler patterns, embedded"],
  ["MaxMind GeoIP2 test databases", "Apache-2.0 OR MIT", "collector/tests/data/geoip", "embedded for `footfall demo`"],
];
for (const [name, licence, dir, what] of embedded) {
  const files = licenceFiles(join(repo, dir));
  if (files.length === 0) throw new Error(`${dir}: no licence file`);
  entries.push({ label: name, licence, where: what, authors: [], files });
}

const version = JSON.parse(
  execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps", "--locked"], { cwd: repo, encoding: "utf8" }),
).packages.find((p) => p.name === "footfall-collector").version;
const out = [];
out.push(`Third-party software in Footfall ${version}`, "");
out.push("Footfall itself is licensed under the GNU Affero General Public License v3.0 only (LICENSE).");
out.push(`The footfall binary also contains the ${unique.size} Rust crates and the files listed below, each under`);
out.push("its own licence; their licence texts follow the list. Where a package offers a choice of licences,");
out.push("the texts it ships are all reproduced. Operating-system libraries the binary links at run time (glibc,");
out.push("libgcc, OpenSSL) are not part of this archive: they come from your distribution.", "");
const width = Math.max(...entries.map((e) => e.label.length));
for (const e of entries) out.push(`  ${e.label.padEnd(width)}  ${e.licence}  (${e.where})`);
const texts = new Map(); // hash -> { text, users: [] }
for (const e of entries) {
  for (const f of e.files) {
    const hash = createHash("sha256").update(f.text.trim()).digest("hex");
    if (!texts.has(hash)) texts.set(hash, { text: f.text.trim(), users: [] });
    const who = e.authors?.length && f.name.startsWith("standard") ? ` — authors: ${e.authors.join(", ")}` : "";
    texts.get(hash).users.push(`${e.label}: ${f.name}${who}`);
  }
}
for (const { text, users } of texts.values()) {
  out.push("", "=".repeat(100), ...users.map((u) => `  ${u}`), "-".repeat(100), text);
}
process.stdout.write(out.join("\n") + "\n");

// Post-processes wasm-bindgen's glue (build.sh step 3) for size; prints the result for terser.
//   node glue.mjs footfall.js names.json footfall.wasm
// - Import, export and module names: wasm-opt --minify-imports-and-exports-and-modules renamed them in the
//   module (`__wbg_get_489a0d9146e498f4` → `e`) and printed the mapping in names.json; the glue follows it.
// - Initialisation: wasm-bindgen's `default` and `initSync` also serve non-streaming hosts, wrong MIME types,
//   synchronous compilation and deprecated argument forms. The loader only ever streams the module from the
//   collector (served as application/wasm), so that one path replaces them; where streaming compilation fails,
//   the loader's catch sends the page view itself.
// wasm-bindgen is pinned (build.sh), so the text matched here is known; every match is checked, and an
// unexpected glue fails the build rather than producing a broken bundle.
import { readFileSync } from 'node:fs';

const [glueFile, namesFile, wasmFile] = process.argv.slice(2);
let glue = readFileSync(glueFile, 'utf8');
const names = JSON.parse(readFileSync(namesFile, 'utf8'));
const fail = (what) => {
  console.error(`glue.mjs: ${what} — did wasm-bindgen's output change?`);
  process.exit(1);
};
const replace = (pattern, replacement, what) => {
  const next = glue.replace(pattern, replacement);
  if (next === glue) fail(`no ${what}`);
  glue = next;
};

const modules = new Set(names.imports.map(([module]) => module));
if (modules.size !== 1) fail('imports from more than one module');
// The module itself says what it imports and exports now.
const compiled = new WebAssembly.Module(readFileSync(wasmFile));
const importModules = new Set(WebAssembly.Module.imports(compiled).map((i) => i.module));
if (importModules.size !== 1) fail('minified imports from more than one module');
replace(`"${[...modules][0]}": import0`, `"${[...importModules][0]}": import0`, 'import module');
for (const [, name, short] of names.imports) {
  replace(new RegExp(`\\b${name}: function`, 'g'), `${short}: function`, `import ${name}`);
}
for (const [name, short] of names.exports) {
  if (!glue.includes(`wasm.${name}`)) continue; // exports the glue never uses (e.g. __abort_handler)
  replace(new RegExp(`\\bwasm\\.${name}\\b`, 'g'), `wasm.${short}`, `export ${name}`);
}

const init = glue.indexOf('let wasmModule, wasmInstance, wasm;');
if (init < 0 || !glue.trimEnd().endsWith('export { initSync, __wbg_init as default };')) fail('initialisation');
const finalize = glue.slice(init, glue.indexOf('async function __wbg_load'));
// What `__wbg_finalize_init` does besides keeping the exports must be nothing but resetting memory views.
const extra = finalize.split('\n').filter((line) => /^\s+\S/.test(line) &&
  !/wasmInstance = instance;|wasm = instance\.exports;|wasmModule = module;|cached\w+ = null;|return wasm;/.test(line));
if (extra.length) fail(`unexpected initialisation steps: ${extra.join(' | ')}`);
glue = glue.slice(0, init) + `let wasm;
export default async function (url) {
    wasm = (await WebAssembly.instantiateStreaming(fetch(url), __wbg_get_imports())).instance.exports;
}
`;
const imported = WebAssembly.Module.imports(compiled).map((i) => i.name);
const exported = WebAssembly.Module.exports(compiled).map((e) => e.name);
if (!imported.every((name) => glue.includes(`${name}: function`))) fail('an import the glue does not provide');
for (const [, used] of glue.matchAll(/\bwasm\.(\w+)/g)) if (!exported.includes(used)) fail(`no export ${used}`);
process.stdout.write(glue);

// Post-processes wasm-bindgen's glue (build.sh step 3) for size, and checks glue and module against each other.
//   node glue.mjs footfall.js names.json footfall.wasm graph.json   prints the trimmed glue for terser, writes
//                                                                    the wasm-metadce graph of the exports it uses
//   node glue.mjs --check trimmed.js final.wasm                      fails unless they fit together
// - Import, export and module names: wasm-opt --minify-imports-and-exports-and-modules renamed them in the
//   module (`__wbg_get_489a0d9146e498f4` → `e`) and printed the mapping in names.json; the glue follows it.
// - Initialisation: wasm-bindgen's `default` and `initSync` also serve non-streaming hosts, wrong MIME types,
//   synchronous compilation and deprecated argument forms. The loader only ever streams the module from the
//   collector (served as application/wasm), so that one path replaces them; where streaming compilation fails,
//   the loader's catch sends the page view itself.
// - Exports: wasm-metadce removes those the trimmed glue does not use (`__wbindgen_realloc`, `__wbindgen_free`,
//   the linker's `__data_end`/`__heap_base`) with the code only they reach; graph.json names the others.
// wasm-bindgen is pinned (build.sh), so the text matched here is known; every match is checked, and an
// unexpected glue fails the build rather than producing a broken bundle.
import { readFileSync, writeFileSync } from 'node:fs';

const fail = (what) => {
  console.error(`glue.mjs: ${what} — did wasm-bindgen's output change?`);
  process.exit(1);
};
/** Every import of the module is provided by the glue, and every export the glue uses is there. */
const check = (glue, module) => {
  const imported = WebAssembly.Module.imports(module).map((i) => i.name);
  const exported = WebAssembly.Module.exports(module).map((e) => e.name);
  if (!imported.every((name) => glue.includes(`${name}: function`))) fail('an import the glue does not provide');
  const used = [...new Set([...glue.matchAll(/\bwasm\.(\w+)/g)].map(([, name]) => name))];
  for (const name of used) if (!exported.includes(name)) fail(`no export ${name}`);
  return used;
};
if (process.argv[2] === '--check') {
  const [glueFile, wasmFile] = process.argv.slice(3);
  check(readFileSync(glueFile, 'utf8'), new WebAssembly.Module(readFileSync(wasmFile)));
  process.exit(0);
}

const [glueFile, namesFile, wasmFile, graphFile] = process.argv.slice(2);
let glue = readFileSync(glueFile, 'utf8');
const names = JSON.parse(readFileSync(namesFile, 'utf8'));
const replace = (pattern, replacement, what) => {
  const next = glue.replace(pattern, replacement);
  if (next === glue) fail(`no ${what}`);
  glue = next;
};

// wasm-bindgen's helpers, cut to what this module needs (each replaced function must exist):
// - memory views are made where they are used, not cached and checked for a grown memory: making a view
//   copies nothing;
// - strings are decoded without the counter that renews the decoder after 2 GiB (a Safari bug): the tracker
//   decodes a few kilobytes per page;
// - strings are passed into the module with `TextEncoder.encode` and the module's `malloc` only, as wasm-bindgen
//   does where there is no `realloc`: no ASCII loop, no `encodeInto` with two reallocations.
const replaceFunction = (name, source) => {
  const start = glue.indexOf(`function ${name}(`);
  if (start < 0) fail(`no function ${name}`);
  let depth = 0;
  let end = glue.indexOf('{', start);
  do {
    if (glue[end] === '{') depth++;
    else if (glue[end] === '}') depth--;
    end++;
  } while (depth > 0 && end < glue.length);
  glue = glue.slice(0, start) + source + glue.slice(end);
};
replaceFunction('getDataViewMemory0', `function getDataViewMemory0() {
    return new DataView(wasm.memory.buffer);
}`);
replaceFunction('getUint8ArrayMemory0', `function getUint8ArrayMemory0() {
    return new Uint8Array(wasm.memory.buffer);
}`);
replaceFunction('decodeText', `function decodeText(bytes) {
    return cachedTextDecoder.decode(bytes);
}`);
replaceFunction('passStringToWasm0', `function passStringToWasm0(arg, malloc) {
    const buf = cachedTextEncoder.encode(arg);
    const ptr = malloc(buf.length, 1) >>> 0;
    getUint8ArrayMemory0().set(buf, ptr);
    WASM_VECTOR_LEN = buf.length;
    return ptr;
}`);
replace(/, wasm\.__wbindgen_realloc\)/g, ')', 'realloc passed to passStringToWasm0');
// The import objects are only ever read by WebAssembly.instantiate for the names the module imports, so they
// need no null prototype.
replace(/__proto__: null,\s*/g, '', 'null-prototype import objects');
if (glue.includes('__wbindgen_realloc')) fail('realloc still used');

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
const used = check(glue, compiled);
// The graph for wasm-metadce: the glue reaches the exports it uses; nothing else outside reaches the module.
const graph = [{ name: 'glue', root: true, reaches: used.map((name) => `export ${name}`) },
  ...used.map((name) => ({ name: `export ${name}`, export: name }))];
writeFileSync(graphFile, JSON.stringify(graph));
process.stdout.write(glue);

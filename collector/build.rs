//! Embeds the committed tracker bundle (`tracker-wasm/dist`, built by `tracker-wasm/build.sh`) so the
//! collector serves it without a wasm toolchain. Its file names are content-hashed; the manifest names them.
use std::path::Path;

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tracker-wasm/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let manifest = std::fs::read_to_string(dist.join("manifest.json"))
        .expect("tracker-wasm/dist/manifest.json (run tracker-wasm/build.sh)");
    let name = |key: &str| {
        let start = manifest.find(&format!("\"{key}\":\"")).expect("manifest key") + key.len() + 4;
        manifest[start..].split('"').next().expect("manifest value").to_owned()
    };
    let (glue, wasm) = (name("glue"), name("wasm"));
    let path = |file: &str| dist.join(file).canonicalize().expect("bundle file").display().to_string();
    let code = format!(
        "pub const GLUE_NAME: &str = {glue:?};\npub const WASM_NAME: &str = {wasm:?};\n\
         pub static LOADER: &[u8] = include_bytes!({loader:?});\npub static GLUE: &[u8] = include_bytes!({glue_path:?});\n\
         pub static WASM: &[u8] = include_bytes!({wasm_path:?});\n",
        loader = path("t.js"),
        glue_path = path(&glue),
        wasm_path = path(&wasm),
    );
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("tracker_bundle.rs");
    std::fs::write(out, code).expect("write tracker_bundle.rs");
}

//! Embeds what the collector serves without other files at run time:
//! - the committed tracker bundle (`tracker-wasm/dist`, built by `tracker-wasm/build.sh`), so no wasm toolchain
//!   is needed; its file names are content-hashed and the manifest names them;
//! - the dashboard (`web/`, static files with no build step), served by `src/http/dashboard.rs`.
use std::path::{Path, PathBuf};

fn main() {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    embed_tracker(&out_dir);
    embed_dashboard(&out_dir);
}

fn embed_tracker(out_dir: &Path) {
    let dist = manifest_dir().join("../tracker-wasm/dist");
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
    std::fs::write(out_dir.join("tracker_bundle.rs"), code).expect("write tracker_bundle.rs");
}

/// Every file under `web/` except `web/tests/` (browser tests, not served) and dot-files, as
/// `FILES: &[(relative path with '/', bytes)]`, sorted by path.
fn embed_dashboard(out_dir: &Path) {
    let web = manifest_dir().join("../web");
    // A directory here makes cargo rerun the script when any file below it changes (added ones too).
    println!("cargo:rerun-if-changed={}", web.display());
    let web = web.canonicalize().expect("web/ (the dashboard) next to collector/");
    let mut files = Vec::new();
    collect(&web, &web, &mut files);
    files.sort();
    let mut code = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (relative, absolute) in &files {
        code.push_str(&format!("    ({relative:?}, include_bytes!({:?})),\n", absolute.display().to_string()));
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("dashboard_files.rs"), code).expect("write dashboard_files.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).expect("read web/") {
        let path = entry.expect("web/ entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("UTF-8 file names in web/");
        if name.starts_with('.') || path == root.join("tests") {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under web/");
            let parts: Vec<&str> = relative.iter().map(|p| p.to_str().expect("UTF-8 path")).collect();
            files.push((parts.join("/"), path.clone()));
        }
    }
}

/// Read when the script runs, not when it was compiled: a build directory shared by two checkouts (a worktree)
/// reuses the compiled script, which must still read the bundle of the checkout being built.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
}

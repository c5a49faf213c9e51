//! Gives this package's own test and example binaries an rpath to the libsynap
//! that synap-sys linked (synap-sys's `links = "synap"` metadata), so
//! `cargo test` runs without LD_LIBRARY_PATH. Link arguments of a build script
//! apply to its own package only, hence this second script.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_SYNAP_RPATH");
    if let Ok(dirs) = std::env::var("DEP_SYNAP_RPATH") {
        for dir in dirs.split(':').filter(|d| !d.is_empty()) {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
        }
    }
}

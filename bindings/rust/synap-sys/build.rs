//! Finds libsynap and tells cargo how to link it.
//!
//! Where the library is looked for, first match wins:
//!  1. `SYNAP_LIB_DIR`: the directory holding libsynap.so.
//!  2. `SYNAP_BUILD_DIR`: a meson build directory of the Synap repository; the
//!     library is in its `capi/` (scripts/test.sh exports this).
//!  3. `pkg-config --libs-only-L --libs-only-l synap` (an installed libsynap;
//!     honours PKG_CONFIG_PATH). The binary is run as a process.
//!  4. `build/capi` of the repository this crate sits in, if it exists (so a
//!     plain `cargo test` works after `ninja -C build`), else the linker's
//!     default search path.
//!
//! Each directory found is also passed to dependents as the `rpath` metadata
//! (`DEP_SYNAP_RPATH`, ':'-separated) and added as an rpath of this package's
//! own test binaries, so tests run without LD_LIBRARY_PATH.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    for var in ["SYNAP_LIB_DIR", "SYNAP_BUILD_DIR", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG"] {
        println!("cargo:rerun-if-env-changed={}", var);
    }
    println!("cargo:rerun-if-changed=build.rs");

    let dirs = find_lib_dirs();
    for dir in &dirs {
        let d = dir.display();
        println!("cargo:rustc-link-search=native={}", d);
        // Only this package's own tests see this; dependents read DEP_SYNAP_RPATH.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", d);
    }
    println!("cargo:rustc-link-lib=dylib=synap");
    let joined: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    println!("cargo:rpath={}", joined.join(":"));
}

fn find_lib_dirs() -> Vec<PathBuf> {
    if let Some(dir) = env::var_os("SYNAP_LIB_DIR").filter(|v| !v.is_empty()) {
        return vec![absolute(PathBuf::from(dir))];
    }
    if let Some(build) = env::var_os("SYNAP_BUILD_DIR").filter(|v| !v.is_empty()) {
        let dir = absolute(PathBuf::from(build).join("capi"));
        if !has_lib(&dir) {
            println!(
                "cargo:warning=SYNAP_BUILD_DIR is set but {} holds no libsynap.so (build it first)",
                dir.display()
            );
        }
        return vec![dir];
    }
    if let Some(dirs) = pkg_config() {
        return dirs;
    }
    // The repository's default build directory, when this crate is in one.
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let repo_build = manifest.join("../../../build/capi");
    if has_lib(&repo_build) {
        let dir = repo_build.canonicalize().unwrap_or(repo_build);
        println!("cargo:warning=libsynap: using {} (set SYNAP_LIB_DIR or SYNAP_BUILD_DIR to choose)", dir.display());
        return vec![dir];
    }
    println!(
        "cargo:warning=libsynap not found (set SYNAP_LIB_DIR or SYNAP_BUILD_DIR, or install it with synap.pc); \
         trying the linker's default path"
    );
    Vec::new()
}

/// Runs pkg-config; Some(dirs) (possibly empty: a system directory) when it
/// knows synap, None when it is missing or does not.
fn pkg_config() -> Option<Vec<PathBuf>> {
    let bin = env::var_os("PKG_CONFIG").unwrap_or_else(|| "pkg-config".into());
    let out = Command::new(bin).args(["--libs-only-L", "--libs-only-l", "synap"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let dirs = text
        .split_whitespace()
        .filter_map(|tok| tok.strip_prefix("-L"))
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    Some(dirs)
}

fn has_lib(dir: &Path) -> bool {
    dir.join("libsynap.so").exists()
}

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        env::current_dir().map(|cwd| cwd.join(&p)).unwrap_or(p)
    }
}

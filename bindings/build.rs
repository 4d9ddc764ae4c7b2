//! Link options for the shipped library only (`cargo::rustc-cdylib-link-arg` reaches the cdylib,
//! nothing else in the workspace).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    // Pack the ~5,000 relative relocations (pointers in vtables and string tables) as RELR: 1.5 KB
    // instead of 123 KB of RELA entries. glibc loads RELR since 2.36 (Debian 12). Android's NDK
    // clang already packs them itself from minSdk 28 (docs/BINDINGS.md, "Size"), so Android
    // targets are left to it.
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo::rerun-if-changed=build.rs");
}

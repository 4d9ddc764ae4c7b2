//! `cargo run -p uniffi-bindgen -- generate --library <lib.so> --language kotlin ...`: the
//! generator pinned to the same uniffi version as the library, so the two always agree.
fn main() {
    uniffi::uniffi_bindgen_main()
}

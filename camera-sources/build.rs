//! Link arguments for librealsense2 taken from the `pyrealsense2` wheel.
//!
//! Only with the `realsense` feature, and only when `scripts/setup-realsense.sh` set the
//! environment (`source .realsense/env.sh`). realsense-sys links `-lrealsense2` from the
//! pkg-config file the script generated; what pkg-config cannot carry to our binaries is added
//! here:
//! - an rpath to the script's link folder, so the binaries and tests run without
//!   `LD_LIBRARY_PATH`;
//! - libpython, linked with `--no-as-needed`: the wheel's module leaves CPython's symbols
//!   (`PyExc_*`) undefined, and nothing in our code uses libpython, so the linker would drop it.
//!
//! With a real librealsense2 (Intel's packages, Homebrew) these variables are unset and this
//! script adds nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=REALSENSE_WHEEL_LIB_DIR");
    println!("cargo:rerun-if-env-changed=REALSENSE_WHEEL_PYTHON_LIB");
    if std::env::var_os("CARGO_FEATURE_REALSENSE").is_none() {
        return;
    }
    let Some(lib_dir) = std::env::var("REALSENSE_WHEEL_LIB_DIR")
        .ok()
        .filter(|dir| !dir.is_empty())
    else {
        return;
    };
    println!("cargo:rustc-link-search=native={lib_dir}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    if let Some(python_lib) = std::env::var("REALSENSE_WHEEL_PYTHON_LIB")
        .ok()
        .filter(|lib| !lib.is_empty())
    {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-l{python_lib}");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}

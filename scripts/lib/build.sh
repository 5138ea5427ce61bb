# Building the binaries for scripts/daemon_control.sh (sourced; uses its settings: SOURCE,
# PROFILE's profile_flag, APP_FEATURES, DAEMON_FEATURES, os, and its info/die).

daemon_built=0
build_daemon() {
    ((daemon_built)) && return 0
    daemon_built=1
    bash scripts/setup-build-deps.sh >/dev/null
    local features=""
    [[ "$SOURCE" == synthetic ]] || features="$SOURCE"
    # More of the daemon's features, e.g. zenoh (the bridge to other machines).
    [[ -z "${DAEMON_FEATURES:-}" ]] || features="${features:+$features,}$DAEMON_FEATURES"
    if [[ "$SOURCE" == realsense ]] && ! pkg-config --exists realsense2 2>/dev/null; then
        [[ "$os" != Darwin ]] || die "librealsense2 not found by pkg-config: brew install librealsense pkg-config"
        info "librealsense2 from the pyrealsense2 wheel (scripts/setup-realsense.sh)"
        bash scripts/setup-realsense.sh >/dev/null
        # shellcheck source=/dev/null
        source .realsense/env.sh
    fi
    info "building aaa-camera-daemon ($PROFILE${features:+, features: $features})"
    cargo build --quiet ${profile_flag[@]+"${profile_flag[@]}"} -p capture-daemon ${features:+--features "$features"}
}

# $1: the app's default features ("none": without the webcam fallback).
build_app() {
    local features="${APP_FEATURES:-$1}" feature_flags=()
    if [[ "$features" == none ]]; then
        feature_flags=(--no-default-features)
        features=""
    elif [[ -n "$features" ]]; then
        feature_flags=(--features "$features")
    fi
    bash scripts/setup-build-deps.sh >/dev/null
    info "building aaa ($PROFILE${features:+, features: $features})"
    cargo build --quiet ${profile_flag[@]+"${profile_flag[@]}"} -p app ${feature_flags[@]+"${feature_flags[@]}"}
}

build_tray() {
    bash scripts/setup-build-deps.sh >/dev/null
    info "building aaa-tray ($PROFILE)"
    cargo build --quiet ${profile_flag[@]+"${profile_flag[@]}"} -p tray
}

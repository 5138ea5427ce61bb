# Sourced by the setup scripts: installs missing Debian packages, or says how.
#
# ensure_debian_packages TAG PACKAGE...
#   Checks each PACKAGE with dpkg-query. All present: says so and returns 0 without touching
#   the network. Some missing: as root, runs `apt-get update` and installs them; otherwise
#   prints the exact command to run and returns 1. TAG prefixes the messages.
ensure_debian_packages() {
    local tag=$1
    shift
    local package status missing=()
    for package in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        if [[ "$status" != "install ok installed" ]]; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then
        echo "$tag: all present ($# packages)"
        return 0
    fi
    local command_line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
    if [[ "$(id -u)" != 0 ]]; then
        echo "$tag: missing Debian packages: ${missing[*]}" >&2
        echo "$tag: run as root: sudo sh -c '$command_line'" >&2
        return 1
    fi
    echo "$tag: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    echo "$tag: done"
}

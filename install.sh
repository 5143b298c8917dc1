#!/usr/bin/env bash
# install.sh: installs the `jupyter-bootstrap` command for the current user.
#
#   curl -fsSL <installer address> | bash          install or upgrade
#   curl -fsSL <installer address> | bash -s -- --uninstall
#   curl -fsSL <installer address> | bash -s -- --user ubuntu   as root, for ubuntu
#   bash install.sh                                in a clone: installs that clone
#
# The installer address is $JB_REPOSITORY/releases/latest/download/install.sh, one release's
# is .../releases/download/vX.Y.Z/install.sh (JB_REPOSITORY is set below; docs/releasing.md
# says how a release puts this file there). Piped, it installs release JB_VERSION from PyPI.
#
# The agent gets its own venv (the system Python may refuse pip: PEP 668). The command is
# linked into /usr/local/bin when `sudo -n` works, because that directory is on the PATH of
# the shell the user is typing in; ~/.local/bin is only added by ~/.profile at login, and a
# piped script cannot change its parent shell's PATH.
#
# Root (cloud-init's user data, where HOME may be unset and nobody can answer) installs for
# a login user with `--user NAME`: root installs python3-venv if it is missing, and the rest
# runs as that user, so the venv and everything else in their home is theirs, exactly as if
# they had run this installer themselves in PuTTY.
#
# Settings, all optional:
#   JUPYTER_BOOTSTRAP_USER=NAME         as root: install for this login user (as --user)
#   JUPYTER_BOOTSTRAP_HOME=DIR          where the venv lives (default:
#                                       ~/.local/share/jupyter-bootstrap)
#   JUPYTER_BOOTSTRAP_SOURCE=REQ        pip requirement for the agent: a path, a wheel or
#                                       sdist URL, or a name with a version (default: the
#                                       checkout this script is run from, else the release
#                                       matching JB_VERSION below)
#   JUPYTER_BOOTSTRAP_FORCE_OS=1        install on a distribution other than Ubuntu 20.04+
#                                       or Debian 11+
#   JUPYTER_BOOTSTRAP_ALLOW_ROOT=1      install for root (cloud-init runs as root)
#   JUPYTER_BOOTSTRAP_NO_MODIFY_PATH=1  never add ~/.local/bin to a shell profile
#   JUPYTER_BOOTSTRAP_NO_SYSTEMD=1      install where systemd does not run (a container),
#                                       for `jupyter-bootstrap init --no-service`
#   JUPYTER_BOOTSTRAP_OS_RELEASE=FILE   read FILE instead of /etc/os-release (for tests)
#   JUPYTER_BOOTSTRAP_SYSTEMD_DIR=DIR   look for DIR instead of /run/systemd/system (for
#                                       tests, whose containers run no systemd)
#
# Every Python runs with -I (isolated mode): a PYTHONPATH, a user site or the current
# directory must not make the agent or a dependency look installed when it is not.
#
# Privileged actions (apt-get, the /usr/local/bin link) always go through `sudo -n`, even
# as root: sudo never prompts that way (stdin is the script itself when piped), and a PATH
# without a working sudo makes the script stay inside the user's home.
#
# Everything below is inside functions and the last line calls main: when a download stops
# half-way, bash has only defined functions and runs nothing. (A cut right after the word
# `main` would run main without arguments, which is what `curl ... | bash` does anyway.)

# `curl ... | sh` would feed this to dash, which stops at the first bash-only line with a
# puzzling syntax error: say what to do instead. (Harmless when truncated: it only exits.)
if [ -z "${BASH_VERSION:-}" ]; then
    echo "error: this installer needs bash: curl -fsSL <url>/install.sh | bash" >&2
    exit 1
fi

set -eu

# Must equal jupyter_bootstrap.__version__ (a unit test checks): the default install is
# the release this script was published with.
JB_VERSION="0.1.0"
JB_NAME="jupyter-bootstrap"
# Where the project's source lives (docs/releasing.md): OWNER must be set before the first
# release. Each release's install.sh is an asset of its GitHub release, so the newest is
# always $JB_REPOSITORY/releases/latest/download/install.sh.
JB_REPOSITORY="https://github.com/OWNER/jupyter-bootstrap"
JB_MIN_PYTHON="3.9"
# Newest first: when `python3` is too old, use the newest side-by-side interpreter (e.g.
# python3.9 from Ubuntu 20.04's universe or the deadsnakes PPA).
JB_PYTHON_CANDIDATES="python3 python3.14 python3.13 python3.12 python3.11 python3.10 python3.9"
# shellcheck disable=SC2016  # printed for the user to paste, expanded by their shell
JB_EXPORT_LINE='export PATH="$HOME/.local/bin:$PATH"'
# What to do on a machine this cannot set Jupyter up on.
JB_LAUNCH_HINT="Launch a 64-bit Ubuntu 22.04/24.04 or Debian 12 instance and run this there."

usage() {
    cat <<EOF
install.sh $JB_VERSION: install the jupyter-bootstrap command for this user.

Usage: bash install.sh [--uninstall] [--user NAME]

  --uninstall   remove the agent's venv, the command link and the bash completion file
                (not the Jupyter setup: run \`jupyter-bootstrap uninstall\` for that first)
  --user NAME   as root (cloud-init): install for the login user NAME, in their home

Settings (environment): JUPYTER_BOOTSTRAP_HOME, JUPYTER_BOOTSTRAP_SOURCE,
JUPYTER_BOOTSTRAP_USER=NAME (as --user),
JUPYTER_BOOTSTRAP_FORCE_OS=1, JUPYTER_BOOTSTRAP_ALLOW_ROOT=1,
JUPYTER_BOOTSTRAP_NO_MODIFY_PATH=1 (see the top of this script).
EOF
}

# ---------------------------------------------------------------------------- output

setup_output() {
    # ANSI colour only on a terminal: logs, pipes and CI get plain ASCII.
    OUT_BOLD="" OUT_GREEN="" OUT_RESET="" ERR_RED="" ERR_YELLOW="" ERR_RESET=""
    if [ -t 1 ]; then
        OUT_BOLD=$(printf '\033[1m') OUT_GREEN=$(printf '\033[32m') OUT_RESET=$(printf '\033[0m')
    fi
    if [ -t 2 ]; then
        ERR_RED=$(printf '\033[31m') ERR_YELLOW=$(printf '\033[33m') ERR_RESET=$(printf '\033[0m')
    fi
}

say() {
    printf '%s\n' "$*"
}

step() {
    printf '%s==>%s %s\n' "$OUT_BOLD" "$OUT_RESET" "$*"
}

done_line() {
    printf '%sok%s  %s\n' "$OUT_GREEN" "$OUT_RESET" "$*"
}

warn() {
    printf '%swarning:%s %s\n' "$ERR_YELLOW" "$ERR_RESET" "$*" >&2
}

# die MESSAGE [HINT...]: one error line, then lines saying what to do, indented by two
# (a command to copy gets two more, like the "Next, run:" command); exit 1.
die() {
    printf '%serror:%s %s\n' "$ERR_RED" "$ERR_RESET" "$1" >&2
    shift
    local hint
    for hint in "$@"; do
        printf '  %s\n' "$hint" >&2
    done
    exit 1
}

# die_with_log MESSAGE [HINT...]: the quiet command's full output first, then the error.
die_with_log() {
    if [ -s "$LOG" ]; then
        cat "$LOG" >&2
    fi
    die "$@"
}

# run_quiet CMD...: output goes to $LOG (shown only on failure); stdin is /dev/null so a
# command can never eat the rest of a piped script or wait for input.
run_quiet() {
    "$@" </dev/null >"$LOG" 2>&1
}

cleanup() {
    rm -f "${LOG:-}" "${COMPLETION_TMP:-}"
}

# ---------------------------------------------------------------------------- helpers

# version_ge A B: true when the dotted version A >= B (major.minor; anything else is 0).
version_ge() {
    local a_major a_minor b_major b_minor
    IFS=. read -r a_major a_minor _ <<<"$1.0.0"
    IFS=. read -r b_major b_minor _ <<<"$2.0.0"
    case $a_major in '' | *[!0-9]*) a_major=0 ;; esac
    case $a_minor in '' | *[!0-9]*) a_minor=0 ;; esac
    case $b_major in '' | *[!0-9]*) b_major=0 ;; esac
    case $b_minor in '' | *[!0-9]*) b_minor=0 ;; esac
    if [ "$a_major" -ne "$b_major" ]; then
        [ "$a_major" -gt "$b_major" ]
    else
        [ "$a_minor" -ge "$b_minor" ]
    fi
}

# can_sudo: true when sudo works without a password (never prompts).
can_sudo() {
    command -v sudo >/dev/null 2>&1 && sudo -n true </dev/null >/dev/null 2>&1
}

# sudo_hint: the prefix for commands we print for the user (root without sudo needs none).
sudo_hint() {
    if [ "$(id -u)" = 0 ] && ! command -v sudo >/dev/null 2>&1; then
        printf ''
    else
        printf 'sudo '
    fi
}

# pretty PATH: PATH with the home directory shown as ~ (shorter lines in PuTTY), or as
# ~NAME when installing for another user (root's log must not read as root's home).
pretty() {
    case $1 in
        "$PRETTY_HOME"/*) printf '%s/%s' "$PRETTY_TILDE" "${1#"$PRETTY_HOME"/}" ;;
        *) printf '%s' "$1" ;;
    esac
}

# link_points_to LINK TARGET: true when LINK is a symlink to exactly TARGET.
link_points_to() {
    [ -L "$1" ] && [ "$(readlink "$1")" = "$2" ]
}

# resolve_target: sets TARGET_USER and TARGET_HOME when root installs for a login user
# (--user NAME or JUPYTER_BOOTSTRAP_USER), else leaves both empty.
resolve_target() {
    local wanted=${TARGET_USER:-${JUPYTER_BOOTSTRAP_USER:-}} entry uid me
    TARGET_USER="" TARGET_HOME=""
    [ -n "$wanted" ] || return 0
    me=$(id -un)
    if [ "$(id -u)" != 0 ]; then
        [ "$wanted" = "$me" ] && return 0 # for oneself: a plain install
        die "--user $wanted needs root (this is $me)" \
            "Run it as $wanted without --user, or as root (sudo, cloud-init) with --user $wanted."
    fi
    entry=$(getent passwd "$wanted") || die "there is no user named $wanted on this machine" \
        "Name the instance's login user, e.g. --user ubuntu."
    uid=$(printf '%s\n' "$entry" | cut -d: -f3)
    if [ "$uid" = 0 ]; then
        die "--user $wanted is refused: Jupyter must run as a login user, not as root" \
            "Name the instance's login user, e.g. --user ubuntu."
    fi
    TARGET_HOME=$(printf '%s\n' "$entry" | cut -d: -f6)
    [ -d "$TARGET_HOME" ] || die "the home directory of $wanted ($TARGET_HOME) does not exist" \
        "Make it (e.g. mkhomedir_helper $wanted), then run this installer again."
    # In sbin, which a root PATH set by hand may lack.
    RUNUSER=$(PATH=$PATH:/usr/sbin:/sbin command -v runuser) ||
        die "runuser (from util-linux) is not installed" \
            "It runs the install as $wanted. Install util-linux, then run this installer again."
    TARGET_USER=$wanted
}

# resolve_paths: where everything goes, in the home of the user installed for (root's own
# HOME, if it has one, means nothing when installing for another user).
resolve_paths() {
    local home=${TARGET_HOME:-${HOME:-}}
    if [ -z "$home" ]; then
        # Started by a service (cloud-init's scripts run without HOME): ask the system.
        home=$(getent passwd "$(id -u)" | cut -d: -f6) || home=""
        [ -n "$home" ] || die "HOME is not set and $(id -un) has no home directory" \
            "Set HOME to the home directory of the user to install for, then run this again."
        export HOME=$home
    fi
    PRETTY_HOME=$home
    # shellcheck disable=SC2088  # a literal ~ for display only
    PRETTY_TILDE="~${TARGET_USER}"
    JB_HOME=${JUPYTER_BOOTSTRAP_HOME:-$home/.local/share/$JB_NAME}
    case $JB_HOME in
        /*) ;;
        *) die "JUPYTER_BOOTSTRAP_HOME must be an absolute path (got: $JB_HOME)" ;;
    esac
    VENV=$JB_HOME/venv
    VENV_COMMAND=$VENV/bin/$JB_NAME
    SYSTEM_LINK=/usr/local/bin/$JB_NAME
    USER_BIN=$home/.local/bin
    USER_LINK=$USER_BIN/$JB_NAME
    # The directory bash-completion (2.x) loads user completions from, on first use.
    local data=$home/.local/share
    case ${XDG_DATA_HOME:-} in /*) data=$XDG_DATA_HOME ;; esac
    COMPLETION_FILE=${BASH_COMPLETION_USER_DIR:-$data/bash-completion}/completions/$JB_NAME
}

# ---------------------------------------------------------------------------- checks

check_linux() {
    local kernel
    kernel=$(uname -s)
    [ "$kernel" = Linux ] || die "jupyter-bootstrap runs on Linux only (this is $kernel)"
}

check_arch() {
    local arch
    arch=$(uname -m)
    case $arch in
        x86_64 | aarch64) ;;
        i?86 | armv*) die "this is a 32-bit system ($arch); jupyter-bootstrap needs a 64-bit one" \
            "$JB_LAUNCH_HINT" "(64-bit: x86_64, or arm64 such as AWS Graviton.)" ;;
        *) die "unsupported CPU architecture: $arch" \
            "jupyter-bootstrap supports x86_64 and aarch64 (arm64, e.g. AWS Graviton)." \
            "$JB_LAUNCH_HINT" ;;
    esac
}

check_os() {
    if [ "${JUPYTER_BOOTSTRAP_FORCE_OS:-}" = 1 ]; then
        return 0
    fi
    local file=${JUPYTER_BOOTSTRAP_OS_RELEASE:-/etc/os-release}
    local supported="jupyter-bootstrap supports Ubuntu 20.04+ and Debian 11+."
    local force_hint="(To try anyway, set JUPYTER_BOOTSTRAP_FORCE_OS=1.)"
    [ -r "$file" ] || die "cannot read $file, so this Linux distribution is unknown" \
        "$supported" "$force_hint"
    local os_id os_version os_name
    # os-release is made to be sourced; a subshell keeps its variables out of ours.
    # shellcheck source=/dev/null
    os_id=$(. "$file" 2>/dev/null && printf '%s' "${ID:-unknown}") || os_id=unknown
    # shellcheck source=/dev/null
    os_version=$(. "$file" 2>/dev/null && printf '%s' "${VERSION_ID:-}") || os_version=""
    # shellcheck source=/dev/null
    os_name=$(. "$file" 2>/dev/null && printf '%s' "${PRETTY_NAME:-}") || os_name=""
    os_name=${os_name:-$os_id${os_version:+ $os_version}}
    case $os_id in
        ubuntu) version_ge "$os_version" 20.04 && return 0 ;;
        debian) version_ge "$os_version" 11 && return 0 ;;
    esac
    die "unsupported system: $os_name" "$supported" "$JB_LAUNCH_HINT" "$force_hint"
}

# check_systemd: Jupyter is set up as a systemd service, so systemd must be running; this
# directory is how systemd's own sd_booted() tells (a container or WSL without systemd has
# none).
# JUPYTER_BOOTSTRAP_NO_SYSTEMD=1 installs anyway, for `init --no-service` (files only).
check_systemd() {
    [ -d "${JUPYTER_BOOTSTRAP_SYSTEMD_DIR:-/run/systemd/system}" ] && return 0
    [ "${JUPYTER_BOOTSTRAP_NO_SYSTEMD:-}" = 1 ] && return 0
    die "this machine does not run systemd, which keeps Jupyter running as a service" \
        "On WSL 2, turn systemd on: add the two lines [boot] and systemd=true to" \
        "/etc/wsl.conf, run \`wsl --shutdown\` in Windows, open WSL again, then rerun this." \
        "In a container: JUPYTER_BOOTSTRAP_NO_SYSTEMD=1 installs anyway (piped:" \
        "curl ... | JUPYTER_BOOTSTRAP_NO_SYSTEMD=1 bash), then" \
        "\`jupyter-bootstrap init --no-service\` writes the files and you start Jupyter." \
        "$JB_LAUNCH_HINT"
}

check_user() {
    if [ "$(id -u)" != 0 ] || [ -n "$TARGET_USER" ] ||
        [ "${JUPYTER_BOOTSTRAP_ALLOW_ROOT:-}" = 1 ]; then
        return 0
    fi
    die "refusing to run as root" \
        "Run it as the login user (e.g. ubuntu), without sudo: the agent lives in that" \
        "user's home and uses sudo itself where needed." \
        "As root for a login user (cloud-init's user data): bash -s -- --user ubuntu." \
        "(To install it for root itself, set JUPYTER_BOOTSTRAP_ALLOW_ROOT=1.)"
}

# find_python: sets PYTHON (absolute path), PYTHON_VERSION (X.Y) and PYTHON_NAME.
find_python() {
    local name path version too_old=""
    for name in $JB_PYTHON_CANDIDATES; do
        path=$(command -v "$name" 2>/dev/null) || continue
        version=$("$path" -I -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
            continue
        if version_ge "$version" "$JB_MIN_PYTHON"; then
            PYTHON=$path PYTHON_VERSION=$version PYTHON_NAME=$name
            return 0
        fi
        too_old=${too_old:-$version}
    done
    if [ -z "$too_old" ]; then
        die "python3 was not found" \
            "Install it, then run this installer again:" \
            "  $(sudo_hint)apt-get update && $(sudo_hint)apt-get install -y python3"
    fi
    die "python3 is $too_old; jupyter-bootstrap needs Python $JB_MIN_PYTHON or newer" \
        "Either launch a new instance of Ubuntu 22.04 or newer (Python 3.10), or install" \
        "Python 3.9 beside it (Ubuntu 20.04 has it in universe, or the deadsnakes PPA):" \
        "  $(sudo_hint)apt-get update && $(sudo_hint)apt-get install -y python3.9 python3.9-venv" \
        "then run this installer again: it finds python3.9 by itself."
}

# ---------------------------------------------------------------------------- install

venv_supported() {
    # Debian and Ubuntu ship ensurepip (and so `python3 -m venv`) in a separate package.
    "$PYTHON" -I -c 'import ensurepip, venv' >/dev/null 2>&1
}

# apt_install PACKAGE: true when installed; the output is in $LOG either way.
apt_install() {
    local apt="env DEBIAN_FRONTEND=noninteractive apt-get -q -y"
    # A fresh cloud instance may still be running its own apt at boot: wait for the lock.
    apt="$apt -o DPkg::Lock::Timeout=300"
    step "Installing $1 with apt-get (needed by python3 -m venv)"
    # shellcheck disable=SC2086  # $apt is a list of words on purpose
    if run_quiet sudo -n $apt install "$1"; then
        return 0
    fi
    # Fresh images often have no or stale package lists: update once, then try again.
    # shellcheck disable=SC2086
    run_quiet sudo -n $apt update || die_with_log "apt-get update failed (output above)"
    # shellcheck disable=SC2086
    run_quiet sudo -n $apt install "$1"
}

ensure_venv_support() {
    if venv_supported; then
        return 0
    fi
    local versioned="python$PYTHON_VERSION-venv" packages package
    if ! can_sudo; then
        die "$PYTHON cannot create a venv: the package $versioned is missing" \
            "Install it (this needs your password), then run this installer again:" \
            "  $(sudo_hint)apt-get update && $(sudo_hint)apt-get install -y $versioned"
    fi
    # python3-venv follows the distribution's default python3; a side-by-side python3.X
    # (or a python3-venv that pulls another version) needs the versioned package.
    packages=$versioned
    if [ "$PYTHON_NAME" = python3 ]; then
        packages="python3-venv $versioned"
    fi
    for package in $packages; do
        apt_install "$package" || true
        if venv_supported; then
            return 0
        fi
    done
    die_with_log "$PYTHON still cannot create a venv after installing $packages" \
        "Is this python3 from the distribution? Set up a Python with ensurepip and try again."
}

venv_healthy() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -I -m pip --version >/dev/null 2>&1
}

ensure_venv() {
    if venv_healthy; then
        return 0
    fi
    if [ -e "$VENV" ]; then
        # Only ever delete something that is a venv (or an empty leftover directory).
        if [ ! -f "$VENV/pyvenv.cfg" ] && ! rmdir "$VENV" 2>/dev/null; then
            die "$VENV exists but is not a venv" \
                "Move it away, or set JUPYTER_BOOTSTRAP_HOME to another directory."
        fi
        step "Rebuilding the broken venv in $(pretty "$VENV")"
        rm -rf "$VENV"
    fi
    ensure_venv_support
    step "Creating a venv for the agent in $(pretty "$VENV") (Python $PYTHON_VERSION)"
    # The topmost directory this run makes: a failed first install takes it away again.
    VENV_NEW_TOP=$VENV
    while [ ! -e "${VENV_NEW_TOP%/*}" ]; do
        VENV_NEW_TOP=${VENV_NEW_TOP%/*}
    done
    mkdir -p "$JB_HOME"
    if ! run_quiet "$PYTHON" -I -m venv "$VENV"; then
        discard_new_venv
        die_with_log "could not create a venv in $VENV with $PYTHON (output above)"
    fi
}

# discard_new_venv: a venv this run made, and the directories made for it, are removed when
# the agent could not be installed into it: a failed first install leaves nothing behind.
# (A venv that worked before this run is kept, with the version it had.)
discard_new_venv() {
    local dir
    [ -n "${VENV_NEW_TOP:-}" ] || return 0
    rm -rf "$VENV"
    dir=$JB_HOME
    # Up from the venv's parent to that topmost directory, each only if empty.
    while [ "${#dir}" -ge "${#VENV_NEW_TOP}" ] && rmdir "$dir" 2>/dev/null; do
        dir=${dir%/*}
    done
}

# checkout_dir: the directory of this script when it is a file in a checkout of this
# project (`bash install.sh`), empty when piped (bash then names the source "main").
checkout_dir() {
    local script=${BASH_SOURCE[0]:-} dir
    if [ "$script" = main ] || [ ! -f "$script" ]; then
        return 0
    fi
    dir=$(cd "$(dirname "$script")" && pwd)
    if [ -f "$dir/pyproject.toml" ] && grep -q "^name = \"$JB_NAME\"" "$dir/pyproject.toml"
    then
        printf '%s' "$dir"
    fi
}

resolve_source() {
    SOURCE=${JUPYTER_BOOTSTRAP_SOURCE:-}
    if [ -z "$SOURCE" ]; then
        SOURCE=$(checkout_dir)
    fi
    if [ -z "$SOURCE" ]; then
        SOURCE="$JB_NAME==$JB_VERSION"
    fi
}

# source_version REQ: the version REQ would install when that can be told without pip
# (name==X, a wheel/sdist file name, a checkout of this project), else nothing.
source_version() {
    local req=$1 base
    case $req in
        jupyter-bootstrap==* | jupyter_bootstrap==*)
            printf '%s' "${req#*==}"
            return 0
            ;;
    esac
    base=${req%%[#?]*}
    base=${base##*/}
    case $base in
        jupyter_bootstrap-*.whl | jupyter_bootstrap-*.tar.gz | jupyter-bootstrap-*.tar.gz)
            base=${base#jupyter?bootstrap-}
            base=${base%.tar.gz}
            printf '%s' "${base%%-*}"
            return 0
            ;;
    esac
    if [ -f "$req/agent/jupyter_bootstrap/__init__.py" ]; then
        sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$req/agent/jupyter_bootstrap/__init__.py"
    fi
}

installed_version() {
    "$VENV/bin/python" -I -c 'import jupyter_bootstrap as m; print(m.__version__)' \
        2>/dev/null </dev/null || true
}

install_agent() {
    local before after wanted
    before=$(installed_version)
    wanted=$(source_version "$SOURCE")
    if [ -n "$before" ] && [ "$before" = "$wanted" ] && [ -x "$VENV_COMMAND" ]; then
        # Same version: leave the venv alone (no network, nothing rewritten).
        done_line "$JB_NAME $before: already up to date"
        return 0
    fi
    step "Installing $JB_NAME from $SOURCE (this takes a minute)"
    if ! run_quiet "$VENV/bin/python" -I -m pip install --no-input --disable-pip-version-check \
        --upgrade "$SOURCE"; then
        discard_new_venv
        release_missing
        die_with_log "pip could not install $SOURCE (pip's output above)" \
            "Check the network and JUPYTER_BOOTSTRAP_SOURCE, then run this installer again."
    fi
    after=$(installed_version)
    if [ -z "$after" ] || [ ! -x "$VENV_COMMAND" ]; then
        discard_new_venv
        die_with_log "pip installed $SOURCE, but it does not provide $JB_NAME (output above)"
    fi
    if [ -z "$before" ]; then
        done_line "$JB_NAME $after installed"
    elif [ "$before" = "$after" ]; then
        done_line "$JB_NAME $after: already up to date"
    elif [ "$(printf '%s\n%s\n' "$before" "$after" | sort -V | head -n 1)" = "$before" ]; then
        done_line "$JB_NAME already installed, upgraded from $before to $after"
    else
        done_line "$JB_NAME already installed, downgraded from $before to $after"
    fi
}

# release_missing: after pip failed on a release (NAME==VERSION), says so and exits when the
# package index answered that it has no such version: a release this installer names but
# nobody published yet (pip's own words for that are a puzzle). A network failure that
# looks the same in pip's last line is left to the general message, with pip's output:
# pip tells it by its warnings when it retries (as it does unless told not to).
release_missing() {
    local version
    case $SOURCE in
        "$JB_NAME=="* | jupyter_bootstrap==*) version=${SOURCE#*==} ;;
        *) return 0 ;;
    esac
    grep -qiF "No matching distribution found for $SOURCE" "$LOG" || return 0
    if grep -qiE 'Retrying|Could not fetch URL|NewConnectionError|ProxyError|SSLError|timed out' \
        "$LOG"; then
        return 0
    fi
    local how=()
    case $JB_REPOSITORY in
        */OWNER/*)
            # A copy from before the first release does not know its repository yet: no
            # command that would send git to a placeholder.
            how=("Install it from the project's source instead: clone the project from where"
                "you got this installer and run \`bash install.sh\` in the clone.")
            ;;
        *)
            how=("Install it from the project's source instead. Run this, then this installer"
                "again the same way (git must be installed:"
                "$(sudo_hint)apt-get update && $(sudo_hint)apt-get install -y git):"
                "  export JUPYTER_BOOTSTRAP_SOURCE=git+$JB_REPOSITORY"
                "Or clone the project (git clone $JB_REPOSITORY) and run"
                "\`bash install.sh\` in it: it installs that clone.")
            ;;
    esac
    die "$JB_NAME $version is not on the package index (PyPI): it is not published yet" \
        "${how[@]}" \
        "Or set JUPYTER_BOOTSTRAP_SOURCE to a jupyter_bootstrap .whl file or its URL."
}

# ensure_link: sets LINK to where the command is linked.
ensure_link() {
    # An existing link into this venv needs no sudo (sudo may have been taken away since).
    if link_points_to "$SYSTEM_LINK" "$VENV_COMMAND"; then
        LINK=$SYSTEM_LINK
        return 0
    fi
    if can_sudo; then
        if [ -e "$SYSTEM_LINK" ] && [ ! -L "$SYSTEM_LINK" ]; then
            die "$SYSTEM_LINK exists and is not a link made by this installer" \
                "Remove it ($(sudo_hint)rm $SYSTEM_LINK), then run this installer again."
        fi
        # shellcheck disable=SC2016  # expanded by the inner sh, from its arguments
        if ! run_quiet sudo -n sh -c 'mkdir -p "${1%/*}" && ln -sfn "$2" "$1"' sh \
            "$SYSTEM_LINK" "$VENV_COMMAND"; then
            die_with_log "could not link $SYSTEM_LINK (output above)"
        fi
        LINK=$SYSTEM_LINK
        done_line "linked $LINK"
        return 0
    fi
    LINK=$USER_LINK
    if ! link_points_to "$USER_LINK" "$VENV_COMMAND"; then
        if [ -e "$USER_LINK" ] && [ ! -L "$USER_LINK" ]; then
            die "$USER_LINK exists and is not a link made by this installer" \
                "Remove it (rm $USER_LINK), then run this installer again."
        fi
        mkdir -p "$USER_BIN"
        ln -sfn "$VENV_COMMAND" "$USER_LINK"
        done_line "linked $(pretty "$LINK") (no sudo -n, so not in /usr/local/bin)"
    fi
    ensure_profile_path
}

# ensure_profile_path: new login shells find ~/.local/bin. Debian's and Ubuntu's
# ~/.profile already add it when the directory exists; only other profiles get a line.
ensure_profile_path() {
    if [ "${JUPYTER_BOOTSTRAP_NO_MODIFY_PATH:-}" = 1 ]; then
        return 0
    fi
    local file profile=""
    # bash reads the first of these that exists at login.
    for file in "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile"; do
        if [ -f "$file" ]; then
            if grep -q '\.local/bin' "$file"; then
                return 0
            fi
            profile=${profile:-$file}
        fi
    done
    profile=${profile:-$HOME/.profile}
    # shellcheck disable=SC2016  # written literally, expanded at login
    printf '\n# Added by jupyter-bootstrap install.sh: commands installed for this user.\n%s\n' \
        'if [ -d "$HOME/.local/bin" ]; then PATH="$HOME/.local/bin:$PATH"; fi' >>"$profile"
    done_line "added ~/.local/bin to PATH in $(pretty "$profile") (for new logins)"
}

ensure_completion() {
    local dir=${COMPLETION_FILE%/*}
    # Generated in /tmp first: an unchanged file (and its directory) is not touched at all.
    COMPLETION_TMP=$(mktemp "${TMPDIR:-/tmp}/$JB_NAME-completion.XXXXXX")
    # click prints the bash completion script when this variable is set. (The command's
    # own file, run by the venv's python so that -I applies.)
    if ! _JUPYTER_BOOTSTRAP_COMPLETE=bash_source "$VENV/bin/python" -I "$VENV_COMMAND" \
        >"$COMPLETION_TMP" 2>"$LOG" </dev/null ||
        ! grep -q '^[[:space:]]*complete ' "$COMPLETION_TMP"; then
        warn "could not generate bash completion; tab completion will not work"
        return 0
    fi
    if cmp -s "$COMPLETION_TMP" "$COMPLETION_FILE"; then
        return 0
    fi
    mkdir -p "$dir"
    # Copied beside the target, then renamed: a kill leaves the old file or the new one.
    cp "$COMPLETION_TMP" "$dir/.$JB_NAME.tmp"
    chmod 644 "$dir/.$JB_NAME.tmp"
    mv -f "$dir/.$JB_NAME.tmp" "$COMPLETION_FILE"
    done_line "bash completion: $(pretty "$COMPLETION_FILE") (new shells)"
}

print_next_steps() {
    local found
    found=$(command -v "$JB_NAME" 2>/dev/null || true)
    say ""
    if [ "$LINK" = "$USER_LINK" ] && [ -z "$found" ]; then
        say "$(pretty "$USER_BIN") is not on this shell's PATH yet. Run this first:"
        say "    $JB_EXPORT_LINE"
    elif [ -n "$found" ] && [ "$(readlink -f "$found")" != "$(readlink -f "$VENV_COMMAND")" ]
    then
        # E.g. a pipx install: typing the command would not run what was just installed.
        warn "$(pretty "$found") comes first on PATH and is another $JB_NAME"
    fi
    say "Next, run:"
    if [ -d "${JUPYTER_BOOTSTRAP_SYSTEMD_DIR:-/run/systemd/system}" ]; then
        say "    ${OUT_BOLD}$JB_NAME init${OUT_RESET}"
    else
        # Installed with JUPYTER_BOOTSTRAP_NO_SYSTEMD=1: a plain init would stop at the
        # service step.
        say "    ${OUT_BOLD}$JB_NAME init --no-service${OUT_RESET}"
        say "then start Jupyter yourself (init says how)."
    fi
}

install() {
    check_linux
    check_arch
    check_os
    check_systemd
    check_user
    find_python
    resolve_source
    if [ -n "$TARGET_USER" ]; then
        install_for_target
        return 0
    fi
    install_here
    print_next_steps
}

install_here() {
    ensure_venv
    install_agent
    ensure_link
    ensure_completion
}

# install_for_target: root installing for a login user. Root does what needs root (the
# venv module from apt); the rest runs as the user, so what lands in their home is theirs.
install_for_target() {
    ensure_venv_support
    step "Installing for $TARGET_USER, as $TARGET_USER"
    # The user's own python3: root's may be one the user cannot run (e.g. under /root).
    as_target find_python install_here
    say ""
    say "Next, as $TARGET_USER (e.g. in a new PuTTY session), run:"
    say "    ${OUT_BOLD}$JB_NAME init${OUT_RESET}"
    say "or here, as root:"
    say "    $(pretty "$VENV_COMMAND") init --user $TARGET_USER"
}

# as_target FUNCTION...: run FUNCTIONs of this installer as TARGET_USER, with their HOME and
# a clean environment plus this installer's settings and what reaches the network (proxies,
# CA bundles, pip's settings). The installer may be a pipe (curl | bash), so it is passed on
# as the variables and functions bash has read, not as a file.
as_target() {
    local name code
    local -a vars=(HOME="$TARGET_HOME" USER="$TARGET_USER" LOGNAME="$TARGET_USER"
        SHELL=/bin/bash "PATH=$PATH")
    for name in $(compgen -e); do
        case $name in
            JUPYTER_BOOTSTRAP_USER | JUPYTER_BOOTSTRAP_ALLOW_ROOT) ;;
            JUPYTER_BOOTSTRAP_* | PIP_* | LANG | LC_* | NO_COLOR | TERM)
                vars+=("$name=${!name}")
                ;;
            http_proxy | https_proxy | no_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY)
                vars+=("$name=${!name}")
                ;;
            SSL_CERT_FILE | SSL_CERT_DIR | REQUESTS_CA_BUNDLE | CURL_CA_BUNDLE)
                vars+=("$name=${!name}")
                ;;
        esac
    done
    code="set -eu
$(declare -p JB_VERSION JB_NAME JB_REPOSITORY JB_MIN_PYTHON JB_PYTHON_CANDIDATES SOURCE \
    2>/dev/null || true)
$(declare -f)
target_half $*"
    "$RUNUSER" -u "$TARGET_USER" -- env -i "${vars[@]}" bash -c "$code" install.sh </dev/null
}

# target_half FUNCTION...: the user's side of as_target.
target_half() {
    local call
    setup_output
    LOG=$(mktemp "${TMPDIR:-/tmp}/$JB_NAME-install.XXXXXX")
    COMPLETION_TMP=""
    trap cleanup EXIT
    TARGET_USER="" TARGET_HOME=""
    resolve_paths
    # shellcheck disable=SC2088  # a literal ~ for display only
    PRETTY_TILDE="~$USER"
    for call in "$@"; do
        "$call"
    done
}

# ---------------------------------------------------------------------------- uninstall

# remove_link LINK [sudo]: removes LINK when it points into our venv; anything else stays.
remove_link() {
    if ! link_points_to "$1" "$VENV_COMMAND"; then
        return 0
    fi
    REMOVED=yes
    if [ "${2:-}" = sudo ] && [ ! -w "${1%/*}" ]; then
        can_sudo || die "cannot remove $1 without a password" \
            "Run this, then run the uninstaller again to remove the rest:" "  sudo rm $1"
        run_quiet sudo -n rm -f "$1" || die_with_log "could not remove $1 (output above)"
    else
        rm -f "$1"
    fi
    done_line "removed $(pretty "$1")"
}

uninstall() {
    check_user
    if [ -n "$TARGET_USER" ]; then
        as_target uninstall_here
    else
        uninstall_here
    fi
}

uninstall_here() {
    REMOVED=""
    # The links first: if one cannot go, stop before the venv it points to is gone.
    remove_link "$SYSTEM_LINK" sudo
    remove_link "$USER_LINK"
    if [ -f "$COMPLETION_FILE" ]; then
        REMOVED=yes
        rm -f "$COMPLETION_FILE"
        done_line "removed $(pretty "$COMPLETION_FILE")"
    fi
    if [ -e "$VENV" ]; then
        [ -f "$VENV/pyvenv.cfg" ] || die "$VENV is not a venv; not deleting it"
        REMOVED=yes
        rm -rf "$VENV"
        done_line "removed $(pretty "$VENV")"
    fi
    rmdir "$JB_HOME" 2>/dev/null || true
    if [ -z "$REMOVED" ]; then
        say "$JB_NAME is not installed for $(id -un): nothing to remove."
        return 0
    fi
    say "$JB_NAME is uninstalled. Jupyter itself (service, conda, certificates, config) is"
    say "untouched: reinstall and run \`$JB_NAME uninstall\` to remove it."
}

# ---------------------------------------------------------------------------- main

main() {
    local action=install
    TARGET_USER=""
    while [ $# -gt 0 ]; do
        case $1 in
            --uninstall) action=uninstall ;;
            -h | --help) action=help ;;
            --user=*) TARGET_USER=${1#--user=} ;;
            --user)
                if [ $# -lt 2 ] || [ -z "$2" ]; then
                    printf 'error: --user needs the login user, e.g. --user ubuntu\n' >&2
                    exit 2
                fi
                TARGET_USER=$2
                shift
                ;;
            *)
                printf 'error: unknown option: %s (try --help)\n' "$1" >&2
                exit 2
                ;;
        esac
        shift
    done
    setup_output
    if [ "$action" = help ]; then
        usage
        return 0
    fi
    LOG=$(mktemp "${TMPDIR:-/tmp}/$JB_NAME-install.XXXXXX")
    COMPLETION_TMP=""
    trap cleanup EXIT
    resolve_target
    resolve_paths
    if [ "$action" = uninstall ]; then
        uninstall
    else
        install
    fi
}

main "$@"

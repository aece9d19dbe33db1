#!/usr/bin/env bash
# Installs agenticai as a systemd service: the binary, the unit, and (only where none exists yet) the env
# file for secrets and config.yaml. Safe to run again, e.g. to upgrade the binary: files already as wanted
# are left alone, and the operator's env file and config are never overwritten.
#
# Usage: deploy/install.sh [--dry-run] [--root DIR] [BINARY]
#   BINARY     the compiled server (default: dist/agenticai of this checkout)
#   --root DIR install under DIR instead of / (also $DESTDIR), for packaging and tests; systemctl is not run
#   --dry-run  say what would change, change nothing
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

usage() { sed -n 's/^# \{0,1\}//; 6,9p' "${BASH_SOURCE[0]}"; }
die() { echo "install.sh: $*" >&2; exit 1; }

dry_run=false
root=${DESTDIR:-}
binary=$repo/dist/agenticai
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=true ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift ;;
    --root=*) root=${1#--root=} ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) binary=$1 ;;
  esac
  shift
done
root=${root%/}

# Check every source before touching anything, so a failed run leaves no half-installed service.
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then die "no executable at $binary (build it with: npm run build)"; fi
for src in "$here/agenticai.service" "$here/agenticai.env.example" "$repo/config.yaml"; do
  [ -f "$src" ] || die "missing $src"
done
if [ -z "$root" ] && ! $dry_run && [ "$(id -u)" -ne 0 ]; then
  die "run as root (or with --root DIR / --dry-run)"
fi

# Directories made on the way are 755 whatever the caller's umask; each file gets its own mode below.
umask 022
changed=0
tmp=
trap 'if [ -n "$tmp" ]; then rm -f "$tmp"; fi' EXIT
note() { echo "$1"; }
act() { if $dry_run; then echo "would: $1"; else echo "$1"; fi; }

# Puts SRC at DEST with MODE unless DEST already has that content and mode. With keep, an existing DEST
# is the operator's (secrets, their config) and is never replaced, whatever it holds.
place() {
  local src=$1 dest=$2 mode=$3 policy=${4:-replace} target=$root$2
  if [ -e "$target" ] || [ -L "$target" ]; then
    if [ "$policy" = keep ]; then
      note "kept      $dest (exists; not overwritten)"
      return
    fi
    if cmp -s "$src" "$target" && [ "$(stat -c %a "$target")" = "${mode#0}" ]; then
      note "unchanged $dest"
      return
    fi
  fi
  changed=$((changed + 1))
  act "install   $dest (mode $mode)"
  $dry_run && return
  mkdir -p "$(dirname "$target")"
  # A copy renamed into place: overwriting the file of a running binary in place fails (text file busy),
  # and a reader never sees half a file.
  tmp=$(mktemp "$target.XXXXXX")
  cp "$src" "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$target"
  tmp=
}

# /etc/agenticai stays readable: the service's user reads config.yaml there (the env file inside is 600).
if [ ! -d "$root/etc/agenticai" ]; then
  changed=$((changed + 1))
  act "mkdir     /etc/agenticai"
  $dry_run || mkdir -p "$root/etc/agenticai"
fi

before=$changed
place "$binary" /usr/local/bin/agenticai 0755
binary_changed=$((changed - before))
before=$changed
place "$here/agenticai.service" /etc/systemd/system/agenticai.service 0644
unit_changed=$((changed - before))
place "$here/agenticai.env.example" /etc/agenticai/agenticai.env 0600 keep
place "$repo/config.yaml" /etc/agenticai/config.yaml 0644 keep

if [ -d "$root/etc/agenticai" ] && [ $(( 0$(stat -c %a "$root/etc/agenticai") & 05 )) -ne 5 ]; then
  echo "warning: the service's user cannot read /etc/agenticai/config.yaml: chmod 755 /etc/agenticai" >&2
fi
env_file=$root/etc/agenticai/agenticai.env
if [ -f "$env_file" ] && [ "$(stat -c %a "$env_file")" != 600 ]; then
  echo "warning: /etc/agenticai/agenticai.env holds secrets but has mode $(stat -c %a "$env_file"): chmod 600 it" >&2
fi

# systemd is asked to reread units only on the live system, and only where it runs (not in a container
# or an image build, where systemctl may be missing or talk to nothing).
systemd_running=false
if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemd_running=true
fi
if [ "$unit_changed" -gt 0 ]; then
  if $systemd_running; then
    act "systemctl daemon-reload"
    $dry_run || systemctl daemon-reload
  else
    note "skipped   systemctl daemon-reload (systemd is not running here$([ -n "$root" ] && echo "; installing under $root"))"
  fi
fi

if [ "$changed" -eq 0 ]; then
  echo "Nothing to change: agenticai is installed as wanted."
elif $dry_run; then
  echo "Dry run: $changed change(s) would be made; nothing was changed."
else
  echo "Installed ($changed change(s))."
fi
if $systemd_running && [ "$binary_changed" -gt 0 ] && systemctl is-active --quiet agenticai; then
  echo "The service runs the previous binary until: systemctl restart agenticai"
fi
cat <<EOF

Next:
  1. Put your secrets in /etc/agenticai/agenticai.env (root-only); settings in /etc/agenticai/config.yaml.
  2. systemctl enable --now agenticai
  3. journalctl -u agenticai -f      (logs; data lives in /var/lib/agenticai)
EOF

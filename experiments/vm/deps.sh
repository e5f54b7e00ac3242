#!/usr/bin/env bash
# deps.sh: install what the VM suite needs and fetch the sched_ext kernel (idempotent).
#
# System packages come from the machine's own (bookworm) apt sources. The kernel comes
# from Debian trixie-backports through a PRIVATE apt configuration (its own sources list,
# package lists and cache under .cache/), so the system's sources are never touched and
# nothing from trixie is ever installed: the package is only downloaded and unpacked.
#
# Result: .cache/kernel/vmlinuz (the kernel), .cache/kernel/config, .cache/kernel/version.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${ALPS_CACHE:-$root/.cache}
kdir=$cache/kernel

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx poweroff && file -L /bin/busybox 2>/dev/null | grep -q static || need+=(busybox-static)
command -v zstd >/dev/null || need+=(zstd)
command -v file >/dev/null || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

if [ -s "$kdir/vmlinuz" ] && [ -s "$kdir/config" ]; then
	echo "deps: kernel $(cat "$kdir/version") cached in $kdir"
	exit 0
fi

apt=$cache/apt
mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$kdir"
cat >"$apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main
SRC
aptopts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=-
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt" -o Dir::Cache::archives="$apt/archives"
	-o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1)
apt-get "${aptopts[@]}" update -qq
# linux-image-cloud-amd64 (meta) -> linux-image-<ver>-cloud-amd64, which depends on
# linux-binary-<ver>-cloud-amd64 (the vmlinuz) and linux-base-<ver>-cloud-amd64 (the config).
deps() { apt-cache "${aptopts[@]}" depends "$1" | awk '/Depends: /{print $2}'; }
image=$(deps linux-image-cloud-amd64 | grep -m1 '^linux-image-[0-9]' || true)
[ -n "$image" ] || { echo "deps: cannot resolve linux-image-cloud-amd64 in trixie-backports" >&2; exit 1; }
ver=${image#linux-image-}
echo "deps: fetching the $ver kernel from trixie-backports"
tmp=$(mktemp -d); chmod 755 "$tmp"; trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get "${aptopts[@]}" -q download "linux-binary-$ver" "linux-base-$ver" >/dev/null 2>&1) ||
	{ echo "deps: apt-get download of linux-binary-$ver failed" >&2; exit 1; }
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
vmlinuz=$tmp/x/usr/lib/modules/$ver/vmlinuz
[ -f "$vmlinuz" ] || vmlinuz=$tmp/x/boot/vmlinuz-$ver
config=$tmp/x/usr/lib/modules/$ver/config
[ -f "$config" ] || config=$tmp/x/boot/config-$ver
grep -q '^CONFIG_SCHED_CLASS_EXT=y' "$config" || { echo "deps: $ver has no CONFIG_SCHED_CLASS_EXT" >&2; exit 1; }
cp "$vmlinuz" "$kdir/vmlinuz.tmp" && mv "$kdir/vmlinuz.tmp" "$kdir/vmlinuz"
cp "$config" "$kdir/config"
echo "$ver" >"$kdir/version"
echo "deps: kernel $ver cached in $kdir"

#!/bin/sh
# Builds crm-bench's base image from Debian's own packages, with no container registry:
# debootstrap makes a minimal bookworm root file system with PostgreSQL 15, nats-server,
# CA certificates and procps; caches, docs, the packaged default cluster and LLVM (only
# PostgreSQL's optional JIT uses it) are removed; the tree is tarred and imported.
#
#   deploy/base-image.sh                  build and `docker import` it as crm-bench/base:bookworm
#   deploy/base-image.sh --tarball FILE   only write the root file system tarball to FILE
#                                         (the harness imports it through the engine API)
#
# Needs root (debootstrap) and network access to a Debian mirror (CRM_DEBIAN_MIRROR).
# The image carries the label crm-bench.recipe=<sha256 of this file>, so the harness reuses an
# image made by this script and rebuilds when the recipe changes.
set -eu

SUITE=bookworm
PACKAGES=postgresql-15,nats-server,ca-certificates,procps
MIRROR=${CRM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE=${CRM_BASE_IMAGE:-crm-bench/base:bookworm}

tarball=""
if [ "${1:-}" = "--tarball" ]; then
  tarball=${2:?--tarball needs a file}
fi

[ "$(id -u)" = 0 ] || { echo "base-image.sh: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "base-image.sh: apt-get install debootstrap" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/crm-bench-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
root="$work/rootfs"

debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# What a container never needs: package caches and lists, documentation, translations, locale
# sources (C.UTF-8 is built into libc), logs, the cluster postgresql-common creates at install
# (our entrypoint runs initdb itself), and LLVM — with z3, which only LLVM links, and
# PostgreSQL's JIT provider: PostgreSQL runs without JIT when the provider is absent.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/usr/share/i18n "$root"/var/log/* \
  "$root"/var/lib/postgresql/15/main "$root"/etc/postgresql/15/main \
  "$root"/usr/lib/x86_64-linux-gnu/libLLVM-* "$root"/usr/lib/x86_64-linux-gnu/libz3.so* \
  "$root"/usr/lib/postgresql/15/lib/llvmjit* "$root"/usr/lib/postgresql/15/lib/bitcode
if [ -n "$tarball" ]; then
  tar -C "$root" --numeric-owner -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  echo "$tarball"
else
  recipe=$(sha256sum <"$0" | cut -d' ' -f1)
  tar -C "$root" --numeric-owner -c . | docker import \
    --change "LABEL crm-bench.recipe=$recipe" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$IMAGE"
fi

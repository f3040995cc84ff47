#!/usr/bin/env bash
# Build revad (the Reva CS3 server) at the version pinned in ./go.mod, into a
# cache directory, unless an up-to-date binary is already there.
#
# The last line on stdout is the path of the binary; everything else goes to
# stderr. Cache root: ${CS3LAB_CACHE:-$HOME/.cache/cs3lab}. Module and build
# caches live under it too, so caching that one directory in CI makes reruns
# fast. To bump reva: `go get -tool github.com/cs3org/reva/v3/cmd/revad/main@vX`
# in this directory.
set -euo pipefail

exec 3>&1 1>&2 # stdout is reserved for the final path

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

# The one place the tag is written down is go.mod.
reva_version=$(awk '$1 == "github.com/cs3org/reva/v3" { print $2 }' go.mod)
if [[ -z $reva_version ]]; then
	echo "build.sh: github.com/cs3org/reva/v3 not required in $here/go.mod" >&2
	exit 1
fi

root=${CS3LAB_CACHE:-$HOME/.cache/cs3lab}
out=$root/revad-$reva_version
bin=$out/revad
export GOMODCACHE=$root/gomod GOCACHE=$root/gocache

# Rebuild when the wrapper module, the stub, this script or Go itself changes.
stamp=$(
	{
		go env GOVERSION
		cat go.mod go.sum build.sh
		find eosgrpc-stub -type f | LC_ALL=C sort | xargs cat
	} | sha256sum | cut -d' ' -f1
)

if [[ -x $bin && -f $bin.stamp && $(<"$bin.stamp") == "$stamp" ]]; then
	echo "revad $reva_version is up to date" >&2
else
	echo "building revad $reva_version into $out (first build takes a few minutes)" >&2
	mkdir -p "$out"
	pkg=github.com/cs3org/reva/v3/cmd/revad
	ldflags="-s -w -X $pkg.version=$reva_version -X $pkg.goVersion=$(go env GOVERSION)"
	# cgo is needed for the sqlite driver; -modcacherw lets CI delete the cache.
	CGO_ENABLED=1 go build -modcacherw -trimpath -ldflags "$ldflags" \
		-o "$bin.tmp" "$pkg/main"
	mv -f "$bin.tmp" "$bin"
	echo "$stamp" >"$bin.stamp"
fi

echo "$bin" >&3

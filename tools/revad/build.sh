#!/usr/bin/env bash
# Build revad (the Reva CS3 server) at the version pinned in a wrapper module's
# go.mod, into a cache directory, unless an up-to-date binary is already there.
#
#   build.sh [v3]   Reva v3 (./go.mod): the `local` driver of site-a
#   build.sh v2     Reva v2 (./v2/go.mod): the decomposedfs driver `ocis` (native
#                   CS3 locks) of site-n
#
# The last line on stdout is the path of the binary; everything else goes to
# stderr. Cache root: ${CS3LAB_CACHE:-$HOME/.cache/cs3lab}; the binary goes to
# revad-<tag>/revad there. Module and build caches live under it too (shared by
# both lines), so caching that one directory in CI makes reruns fast. To bump
# reva: `go get -tool github.com/cs3org/reva/v3/cmd/revad/main@vX` in this
# directory (v2: `go get -tool github.com/cs3org/reva/v2/cmd/revad@vX` in ./v2,
# after copying that tag's replace and exclude lines and its go.sum entries).
set -euo pipefail

exec 3>&1 1>&2 # stdout is reserved for the final path

line=${1:-v3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script=$here/build.sh
case $line in
v3)
	module=github.com/cs3org/reva/v3
	pkg=$module/cmd/revad # holds the version variables
	main=$pkg/main
	;;
v2)
	here=$here/v2
	module=github.com/cs3org/reva/v2
	pkg=main
	main=$module/cmd/revad
	;;
*)
	echo "build.sh: unknown reva line '$line' (v3 or v2)" >&2
	exit 2
	;;
esac
cd "$here"

# The one place the tag is written down is go.mod.
reva_version=$(awk -v m="$module" '$1 == m { print $2 }' go.mod)
if [[ -z $reva_version ]]; then
	echo "build.sh: $module not required in $here/go.mod" >&2
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
		cat go.mod go.sum "$script"
		if [[ -d eosgrpc-stub ]]; then
			find eosgrpc-stub -type f | LC_ALL=C sort | xargs cat
		fi
	} | sha256sum | cut -d' ' -f1
)

if [[ -x $bin && -f $bin.stamp && $(<"$bin.stamp") == "$stamp" ]]; then
	echo "revad $reva_version is up to date" >&2
else
	echo "building revad $reva_version into $out (first build takes a few minutes)" >&2
	mkdir -p "$out"
	ldflags="-s -w -X $pkg.version=$reva_version -X $pkg.goVersion=$(go env GOVERSION)"
	# cgo is needed for the sqlite driver; -modcacherw lets CI delete the cache.
	CGO_ENABLED=1 go build -modcacherw -trimpath -ldflags "$ldflags" \
		-o "$bin.tmp" "$main"
	mv -f "$bin.tmp" "$bin"
	echo "$stamp" >"$bin.stamp"
fi

echo "$bin" >&3

#!/usr/bin/env bash
# Install a Go toolchain from the Go module proxy (the golang.org/toolchain module, the
# same zip `GOTOOLCHAIN` switching downloads) into the build cache, unless it is there.
#
#   install-go.sh 1.26.8    prints the toolchain's GOROOT on stdout
#
# Used where no Go is installed (the site image's build stage). Cache root:
# ${CS3LAB_CACHE:-$HOME/.cache/cs3lab}; proxy: ${GOPROXY%%,*} (default proxy.golang.org).
set -euo pipefail

version=${1:?usage: install-go.sh GO_VERSION (e.g. 1.26.8)}
root=${CS3LAB_CACHE:-$HOME/.cache/cs3lab}
proxy=${GOPROXY:-https://proxy.golang.org}
proxy=${proxy%%,*}
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*)
	echo "install-go.sh: no Go toolchain for $(uname -m)" >&2
	exit 2
	;;
esac
module=v0.0.1-go$version.linux-$arch
goroot=$root/toolchain/golang.org/toolchain@$module

if [[ ! -x $goroot/bin/go ]]; then
	echo "downloading Go $version ($arch) from $proxy" >&2
	mkdir -p "$root/toolchain"
	zip=$(mktemp "$root/toolchain/go-XXXXXX.zip")
	trap 'rm -f "$zip"' EXIT
	curl -fsSL --retry 3 -o "$zip" "$proxy/golang.org/toolchain/@v/$module.zip"
	rm -rf "$goroot"
	(cd "$root/toolchain" && unzip -q "$zip")
	chmod +x "$goroot"/bin/* "$goroot"/pkg/tool/*/*
fi
"$goroot/bin/go" version >&2
echo "$goroot"

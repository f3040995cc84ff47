# Set-up steps shared by scripts/test.sh and scripts/demo.sh. Source it from the repository
# root, in a shell running with `set -euo pipefail`; it defines functions and exports the
# cache locations, and does nothing else by itself.
#
#   apt_install PKG...       install Debian packages (as root, or through sudo)
#   setup_revad              build both lines of revad once into $CS3LAB_CACHE
#                            (tools/revad/build.sh [v2]) and export CS3LAB_REVAD=<Reva v3
#                            binary> and CS3LAB_REVAD_V2=<Reva v2 binary> (site_runner uses them)
#   setup_fuse               install Debian's fuse3 and libfuse3-dev if missing (the kernels' FUSE
#                            mount of the CS3 home; without them kernels use cs3:// only)
#   setup_keycloak           fetch Keycloak (Maven Central's keycloak-quarkus-dist zip, with mvn)
#                            once, unpack it into $CS3LAB_CACHE and start it once there, which
#                            keeps its dev-mode build (tools/sites/keycloak_runner.py); needs
#                            Java 21+ ($CS3LAB_KEYCLOAK_JAVA_HOME, default Temurin 25)
#   setup_hub                install npm's configurable-http-proxy (JupyterHub's proxy) into
#                            $CS3LAB_CACHE (tools/sites/hub_runner.py finds it there)
#   setup_images             install Debian's buildah and debootstrap if missing: tests/test_images.py
#                            builds docker/'s images with them (tools/images/images.py)
#   setup_python EXTRAS      create .venv if missing, activate it, install cs3lab from this
#                            checkout with the given extras (e.g. "test,dev") and check that
#                            its prebuilt labextension is enabled

export CS3LAB_CACHE=${CS3LAB_CACHE:-$HOME/.cache/cs3lab}
export npm_config_cache=$CS3LAB_CACHE/npm
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

# Install Debian packages (as root, or through sudo).
apt_install() {
	local sudo_=""
	[[ $(id -u) == 0 ]] || sudo_="sudo"
	$sudo_ apt-get update -qq
	$sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

setup_revad() {
	step "revad v3 and v2 (cached builds)"
	local revad revad_v2
	revad=$(bash tools/revad/build.sh v3)
	"$revad" -version 2>&1 | head -1 || true
	revad_v2=$(bash tools/revad/build.sh v2)
	"$revad_v2" -version 2>&1 | head -1 || true
	export CS3LAB_REVAD=$revad CS3LAB_REVAD_V2=$revad_v2
}

setup_fuse() {
	step "FUSE (fuse3's fusermount and libfuse3, its headers for pyfuse3's build)"
	if ! command -v fusermount3 >/dev/null || [[ ! -e /usr/include/fuse3/fuse_lowlevel.h ]]; then
		apt_install fuse3 libfuse3-dev pkg-config gcc
	fi
	fusermount3 --version
	[[ -e /dev/fuse ]] || echo "no /dev/fuse here: kernels will reach CS3 through cs3:// only"
}

setup_images() {
	step "buildah and debootstrap (container images without a Docker engine)"
	if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
		apt_install buildah debootstrap
	fi
	buildah --version
}

setup_keycloak() {
	step "Keycloak (cached distribution, for the single sign-on tests)"
	if ! command -v mvn >/dev/null || ! command -v unzip >/dev/null; then
		apt_install maven unzip
	fi
	python3 tools/sites/keycloak_runner.py
}

setup_hub() {
	step "configurable-http-proxy (cached npm package, JupyterHub's proxy)"
	local version=5.3.0
	local prefix=$CS3LAB_CACHE/configurable-http-proxy-$version
	if [[ ! -x $prefix/node_modules/.bin/configurable-http-proxy ]]; then
		npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
			"configurable-http-proxy@$version"
	fi
	"$prefix/node_modules/.bin/configurable-http-proxy" --version
}

setup_python() {
	local extras=$1
	step "python environment and the cs3lab wheel (with its prebuilt labextension)"
	[[ -x .venv/bin/python ]] || python3 -m venv .venv
	# shellcheck disable=SC1091
	. .venv/bin/activate
	python -m pip install -q --upgrade pip
	python -m pip install -q ".[$extras]"
	jupyter labextension list 2>&1 | grep -E "cs3lab .*enabled.*OK"
}

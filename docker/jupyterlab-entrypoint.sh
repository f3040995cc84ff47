#!/bin/sh
# Entrypoint of the JupyterLab image: `jupyter lab` with cs3lab as the contents manager.
# The CS3 connection is configured by environment variables, read by cs3lab's CS3Connection:
#   CS3LAB_GATEWAY      host:port of the CS3 gateway
#   CS3LAB_USER         the CS3 user
#   CS3LAB_SECRET_FILE  a file (mounted secret) holding the password / OIDC token / reva token
#                       (or CS3LAB_SECRET holding the secret itself)
#   CS3LAB_HOME         the CS3 path shown as the root, e.g. /home/{username}
#   CS3LAB_SITE, CS3LAB_TLS=1, CS3LAB_AUTH_MODE (basic | bearer | token)   optional
#   CS3LAB_PORT         JupyterLab's port (default 8888); JUPYTER_TOKEN: its token (default:
#                       a random one, printed in the log)
# Next to the site image (docker/compose.yaml), CS3LAB_GATEWAY and CS3LAB_SITE may be left
# unset: they are read from $CS3LAB_RUN_DIR (/run/cs3lab), written by the site when it is ready.
# Options are passed on to `jupyter lab`; a command is run instead (see below).
set -eu

# A command instead of options (e.g. `jupyterhub-singleuser`, how zero-to-jupyterhub's
# KubeSpawner starts the image; the Hub gives the CS3 settings): run it as it is.
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ] && command -v "$1" >/dev/null 2>&1; then
	exec "$@"
fi

run=${CS3LAB_RUN_DIR:-/run/cs3lab}
if [ -z "${CS3LAB_GATEWAY:-}" ] && [ -d "$run" ]; then
	waited=0
	until [ -s "$run/gateway" ]; do
		if [ "$waited" -ge "${CS3LAB_WAIT_SECONDS:-120}" ]; then
			echo "cs3lab: no $run/gateway after $waited s: is the site running?" >&2
			exit 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
	CS3LAB_GATEWAY=$(cat "$run/gateway")
	export CS3LAB_GATEWAY
	if [ -z "${CS3LAB_SITE:-}" ] && [ -s "$run/site" ]; then
		CS3LAB_SITE=$(cat "$run/site")
		export CS3LAB_SITE
	fi
fi

: "${CS3LAB_GATEWAY:?cs3lab: set CS3LAB_GATEWAY to the host:port of the CS3 gateway}"
: "${CS3LAB_USER:?cs3lab: set CS3LAB_USER to the CS3 user name}"
if [ -n "${CS3LAB_SECRET_FILE:-}" ]; then
	if [ ! -r "$CS3LAB_SECRET_FILE" ]; then
		echo "cs3lab: cannot read the secret file $CS3LAB_SECRET_FILE" >&2
		exit 1
	fi
elif [ -z "${CS3LAB_SECRET:-}" ]; then
	echo "cs3lab: set CS3LAB_SECRET_FILE (a mounted secret) or CS3LAB_SECRET" >&2
	exit 1
fi

echo "cs3lab: JupyterLab for ${CS3LAB_USER} on ${CS3LAB_SITE:-$CS3LAB_GATEWAY}"
exec jupyter lab --no-browser --ip=0.0.0.0 --port="${CS3LAB_PORT:-8888}" \
	--ServerApp.contents_manager_class=cs3lab.CS3ContentsManager "$@"

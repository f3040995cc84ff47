#!/bin/sh
# Entrypoint of the Hub image: each of these variables may instead be given as <NAME>_FILE, a
# file (a mounted secret) holding the value, the usual convention of container images:
#   OAUTH_CLIENT_SECRET   the Hub's client secret in the realm (read by oauthenticator)
#   JUPYTERHUB_CRYPT_KEY  encrypts the users' tokens in the Hub's database
#   CS3LAB_GATEWAY        host:port of the site's gateway (docker/compose.yaml: the file the
#                         site writes when it is ready)
# Then runs its arguments (by default the Hub with docs/jupyterhub_config.py).
set -eu
for name in OAUTH_CLIENT_SECRET JUPYTERHUB_CRYPT_KEY CS3LAB_GATEWAY; do
	eval "file=\${${name}_FILE:-}"
	if [ -n "$file" ]; then
		if [ ! -r "$file" ]; then
			echo "cs3lab-hub: cannot read ${name}_FILE=$file" >&2
			exit 1
		fi
		value=$(cat "$file")
		export "$name=$value"
		unset "${name}_FILE"
	fi
done
: "${CS3LAB_OIDC_ISSUER:?cs3lab-hub: set CS3LAB_OIDC_ISSUER to the realm's issuer}"
: "${OAUTH_CLIENT_SECRET:?cs3lab-hub: set OAUTH_CLIENT_SECRET or OAUTH_CLIENT_SECRET_FILE}"
: "${JUPYTERHUB_CRYPT_KEY:?cs3lab-hub: set JUPYTERHUB_CRYPT_KEY or JUPYTERHUB_CRYPT_KEY_FILE}"
exec "$@"

# syntax=docker/dockerfile:1
# Image cs3lab-hub: JupyterHub with single sign-on (oauthenticator's GenericOAuthenticator
# against Keycloak) configured by docs/jupyterhub_config.py, the configuration the end-to-end
# tests run (tests/test_hub.py). Each user's server is a local process of this container
# (SimpleLocalProcessSpawner), so the image is the JupyterLab image plus the Hub's proxy.
# On Kubernetes, zero-to-jupyterhub's own Hub image runs instead, with cs3lab-jupyterlab as
# the single-user image (docker/z2jh-values.yaml).
# Build from the repository root, after the JupyterLab image:
#   docker build -f docker/jupyterlab.Dockerfile -t cs3lab-jupyterlab .
#   docker build -f docker/hub.Dockerfile -t cs3lab-hub .
# Built and run by tests/test_images.py (buildah, no Docker engine): see docker/README.md.
ARG LAB_IMAGE=cs3lab-jupyterlab
ARG DEBIAN_IMAGE=debian:bookworm-slim

# configurable-http-proxy, JupyterHub's proxy, from npm (the version the tests run), with
# Node's own binary (npm's node-linux-<arch>): a stage of its own, so that a new JupyterLab
# image does not rebuild it.
FROM ${DEBIAN_IMAGE} AS proxy
ARG PROXY_VERSION=5.3.0
ARG NODE_VERSION=20.20.2
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates npm \
 && rm -rf /var/lib/apt/lists/* \
 && arch=$(dpkg --print-architecture | sed 's/amd64/x64/') \
 && npm install -g --prefix /opt/proxy --no-audit --no-fund --loglevel=error \
      "node-linux-$arch@$NODE_VERSION" "configurable-http-proxy@$PROXY_VERSION"

FROM ${LAB_IMAGE}
USER root
COPY --from=proxy /opt/proxy /opt/proxy
RUN ln -s /opt/proxy/bin/node /opt/proxy/bin/configurable-http-proxy /usr/local/bin/ \
 && configurable-http-proxy --version \
 && install -d -o cs3lab -g cs3lab /srv/jupyterhub
COPY docs/jupyterhub_config.py /etc/jupyterhub/jupyterhub_config.py
COPY --chmod=0755 docker/hub-entrypoint.sh /usr/local/bin/cs3lab-hub
USER cs3lab
# The Hub's database and cookie secret live here (a volume in docker/compose.yaml).
WORKDIR /srv/jupyterhub
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8000/hub/health", timeout=2)' 2>/dev/null || exit 1
ENTRYPOINT ["cs3lab-hub"]
CMD ["jupyterhub", "-f", "/etc/jupyterhub/jupyterhub_config.py", "--ip=0.0.0.0", "--port=8000"]

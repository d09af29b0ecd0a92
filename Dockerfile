# The Portcullis scanner image: what a CI job pulls and runs (`portcullis pipeline jenkins`).
#
#   pip wheel --wheel-dir dist .        # the project and its dependencies as wheels
#   docker build -t portcullis:latest .  # or: buildah bud -t portcullis:latest .
#
# The install needs no network: every wheel comes from dist/. BASE may be any Debian-based image
# with Python 3.11+ and venv (the tests build one with mmdebstrap).
ARG BASE=docker.io/library/python:3.12-slim-bookworm
FROM ${BASE}

LABEL org.opencontainers.image.title="portcullis" \
      org.opencontainers.image.description="Container image security scanner" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/portcullis-scanner/portcullis"

# The wheels are bind-mounted for the one RUN step, so they never become a layer of the image.
# Bytecode for the project, its dependencies and the standard library, checked by source hash:
# pip's .pyc files record the source's mtime, which a reproducible build (buildah --timestamp 0,
# SOURCE_DATE_EPOCH) resets to 0, so Python found every one stale; a base image's stdlib .pyc
# (if it ships any) have the same problem. Each run then compiled ~300 modules again, never
# saved (PYTHONDONTWRITEBYTECODE, and the venv is not the user's): about 0.3 s CPU per scan.
RUN --mount=type=bind,source=dist,target=/tmp/wheels \
    python3 -m venv /opt/portcullis \
 && /opt/portcullis/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels portcullis \
 && /opt/portcullis/bin/python -m compileall -q -f -j 0 --invalidation-mode checked-hash \
      -x '/(test|tests|idlelib|tkinter|turtledemo|lib2to3|ensurepip)/' /opt/portcullis/lib \
      "$(/opt/portcullis/bin/python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')" \
 && mkdir -p /var/lib/portcullis/cache \
 && chmod 1777 /var/lib/portcullis /var/lib/portcullis/cache

# The database and the layer cache live in one volume, so a CI agent keeps them between jobs.
# The directory is sticky and writable by all (like /tmp): CI runs the container as the agent's
# own uid (`--user`) so the reports it writes to the workspace belong to the agent.
ENV PATH=/opt/portcullis/bin:$PATH \
    PORTCULLIS_DB=/var/lib/portcullis/vuln.db \
    XDG_CACHE_HOME=/var/lib/portcullis/cache \
    PYTHONDONTWRITEBYTECODE=1
VOLUME /var/lib/portcullis
WORKDIR /work
USER 10001:10001
# A one-shot CLI, not a service: there is nothing to probe.
HEALTHCHECK NONE
ENTRYPOINT ["portcullis"]
CMD ["--help"]

#!/bin/sh
# Installs Hangar Bay and its locked runtime dependencies into a fresh virtual environment.
# The Dockerfile runs exactly this; .ci/run runs it too, so the image's install steps are
# proven on every change even where no Docker engine is available.
# Usage: docker/install-app.sh VENV_DIR   (run from the project root; needs python3 and pdm)
set -eu
venv="$1"
pdm="${PDM:-pdm}"
requirements="$(mktemp)"
trap 'rm -f "$requirements"' EXIT

# Production dependencies only, pinned and hashed as in pdm.lock.
"$pdm" export --prod --no-extras -o "$requirements"
python3 -m venv "$venv"
"$venv/bin/pip" install --no-cache-dir --quiet --require-hashes -r "$requirements"
"$venv/bin/pip" install --no-cache-dir --quiet --no-deps .
"$venv/bin/hangar-bay" version

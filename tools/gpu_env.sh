# Sourced by the scripts run on a lent GPU machine (tools/gpu_job.sh,
# tools/experiments/gpu_normalise.sh): installs the carried wheels (WHEELS, default .whl/, when
# there are any; the image has no network), points Python at them and at this checkout, selects
# Keras on JAX, and sets `workers` (WORKERS, default the CPU cores less two) for
# converter.train --workers.
WHEELS=${WHEELS:-.whl}
if compgen -G "$WHEELS/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEELS"/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
workers=${WORKERS:-$(($(nproc) > 3 ? $(nproc) - 2 : 1))}

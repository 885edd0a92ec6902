#!/usr/bin/env bash
# cotmask set-up + run, on a fresh Debian 12 / Python 3.11 machine:
#   ./run.sh demo [cotmask demo options]   # the demo on a real Sentinel-2 scene -> out/demo/
#   ./run.sh test [pytest options]         # the test suite
#   ./run.sh evaluate                      # regenerate evaluation/ with the peers (the eval extra) installed
# Creates .venv (installing Debian's python3-venv if needed), installs the project with what the
# command needs, and for the demo downloads the real 13-band L1C sample (s2cloudless 1.2.2 sdist,
# CC BY-SA 4.0) into .cache/ -- it is not part of this repository.
set -euo pipefail
cd "$(dirname "$0")"
cmd=${1:-}
[ $# -gt 0 ] && shift
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    echo "installing python3-venv (Debian)"; apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    "$PY" -m venv .venv
  fi
fi
if [ "$cmd" = test ] && ! ldconfig -p | grep -q "libgfortran.so.5 "; then
  # 6S (the drift check of the committed atmosphere tables) is a Fortran program
  echo "installing libgfortran5 (Debian)"; apt-get update -qq && apt-get install -y -qq libgfortran5 >/dev/null
fi
extras="demo"
[ "$cmd" = test ] && extras="test"
[ "$cmd" = evaluate ] && extras="eval"
stamp=".venv/.cotmask-$(sha1sum pyproject.toml | cut -c1-12)-${extras/,/-}"
# pip quietly, with a line every 20 s so a first install (1-2 min) does not look hung; pip's notes about
# package-index locations this machine does not have are not the user's problem and are left out
pip_install() {
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) &
  local pid=$! t=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1; t=$((t + 1))
    [ $((t % 20)) -eq 0 ] && echo "  ... still installing (${t} s)"
  done
  wait "$pid"
}
if [ ! -f "$stamp" ]; then
  echo "installing cotmask[$extras] into .venv (first run: 1-2 minutes)"
  pip_install --upgrade pip
  pip_install -e ".[$extras]"
  touch "$stamp"
  echo "installed"
fi

case "$cmd" in
  demo)
    if [ ! -f .cache/s2cloudless-1.2.2.tar.gz ]; then
      echo "downloading the real Sentinel-2 sample (s2cloudless 1.2.2 source distribution, CC BY-SA 4.0)"
      .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
        s2cloudless==1.2.2 -d .cache 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    fi
    exec .venv/bin/cotmask demo "$@" ;;
  test)
    exec .venv/bin/python -m pytest "$@" ;;
  evaluate)
    # every committed report under evaluation/, with every peer (a missing peer fails the run)
    for script in run_evaluation real_labels shadows cirrus_coverage real_surfaces consolidation_experiment temporal_experiment; do
      echo "evaluation/$script.py"; .venv/bin/python "evaluation/$script.py" "$@"
    done
    git status --short evaluation/ ;;
  *)
    echo "usage: ./run.sh demo [options] | ./run.sh test [pytest options] | ./run.sh evaluate" >&2; exit 2 ;;
esac

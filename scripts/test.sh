#!/usr/bin/env bash
# Runs the test suite once per database engine and says which ones it ran against.
#
#   1. SQLite:     pytest with DATABASE_URL unset (the settings' embedded default).
#   2. PostgreSQL: pytest again with DATABASE_URL=$PUNCHCARD_TEST_POSTGRES; only the tests that
#                  use the database run again (see tests/conftest.py).
#
# Environment:
#   PYTEST_ARGS                 extra pytest arguments, shell-quoted (e.g. '-k "redeem and not slow"')
#   PUNCHCARD_TEST_DATABASES    which runs to do: "sqlite,postgres" (default), "sqlite" or "postgres"
#   PUNCHCARD_TEST_POSTGRES     server for the PostgreSQL run (default below; the user needs CREATEDB)
#   CI                          "true": an unreachable PostgreSQL fails the run instead of skipping it
#
# Exits non-zero if any run fails, including a run that collects no tests at all (pytest's 5),
# except that a PostgreSQL run with nothing to do (no selected test uses the database) is fine.
set -uo pipefail  # not -e: a failed run must not stop the other, nor the summary

cd "$(dirname "$0")/.."
PYTEST=.venv/bin/pytest
PYTHON=.venv/bin/python
DATABASES=${PUNCHCARD_TEST_DATABASES:-sqlite,postgres}
PG_URL=${PUNCHCARD_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/test}
PG_URL_SHOWN=$(sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$PG_URL")  # no password in logs

eval "pytest_args=(${PYTEST_ARGS:-})"
summaries=$(mktemp -d)
trap 'rm -rf "$summaries"' EXIT

tested=()  # "sqlite 3.40.1 (412 passed)", ...
status=0

# run_pass NAME [VAR=value...]: one pytest run in the given environment.
run_pass() {
    local name=$1; shift
    local summary="$summaries/$name"
    echo
    echo "=== tests on $name ==="
    env "$@" PUNCHCARD_TEST_SUMMARY="$summary" "$PYTEST" "${pytest_args[@]}"
    local rc=$?
    local line
    line=$(cat "$summary" 2>/dev/null || echo "$name (no result: pytest exited $rc)")
    if [[ $rc -eq 5 && $name == postgresql ]]; then
        rc=0; line="${line% (*} (no selected test uses the database)"
    elif [[ $rc -eq 5 ]]; then
        echo "error: no tests were collected on $name" >&2
    fi
    tested+=("$line")
    [[ $rc -ne 0 && $status -eq 0 ]] && status=$rc
    # Interrupted, internal or usage error: the next run would end the same way.
    [[ $rc -eq 2 || $rc -eq 3 || $rc -eq 4 ]] && finish
    return 0
}

finish() {
    local joined
    ((${#tested[@]})) || tested=(none)
    joined=$(printf ', %s' "${tested[@]}")
    echo
    echo "databases tested: ${joined:2}"
    exit "$status"
}

pg_problem() {  # prints why PostgreSQL is unreachable, or nothing
    "$PYTHON" - "$PG_URL" <<'EOF'
import sys
import psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=2).close()
except Exception as exc:
    print(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
EOF
}

# The browser tests drive Debian's Chromium (never a downloaded browser); install it when missing.
if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests (apt-get)"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi || echo "warning: could not install chromium; the browser tests will fail" >&2
fi

pg_skipped=""
if [[ ,$DATABASES, == *,postgres,* ]]; then
    problem=$(pg_problem)
    if [[ -n $problem ]]; then
        if [[ ${CI:-} == true ]]; then
            # Checked first, so a misconfigured CI fails in seconds rather than after the SQLite run.
            echo "error: PostgreSQL not reachable at $PG_URL_SHOWN ($problem); CI=true requires it" >&2
            exit 1
        fi
        pg_skipped="postgresql: not reachable at $PG_URL_SHOWN ($problem); PostgreSQL run skipped"
    fi
fi

if [[ ,$DATABASES, == *,sqlite,* ]]; then
    run_pass sqlite -u DATABASE_URL
fi
if [[ ,$DATABASES, == *,postgres,* && -z $pg_skipped ]]; then
    # A database name per run, so runs in parallel (several checkouts, one server) don't collide.
    run_pass postgresql DATABASE_URL="$PG_URL" \
        PUNCHCARD_PG_TEST_NAME="${PUNCHCARD_PG_TEST_NAME:-test_punchcard_$$}"
fi
[[ -n $pg_skipped ]] && echo && echo "$pg_skipped"
finish

#!/usr/bin/env bash
# Offline checks of the Nix packaging, for CI: no nixpkgs can be fetched here,
# so Debian's nix-instantiate parses every .nix file, and evaluates nix/ and
# flake.nix with nixpkgs' real lib (NIXPKGS_LIB=/path/to/nixpkgs/lib) and the
# stand-in packages of stubs.nix. Without NIXPKGS_LIB only the parsing runs.
# Exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
passed=0 failed=0 skipped=0

if ! command -v nix-instantiate >/dev/null 2>&1; then
  echo "nix-instantiate missing: apt-get install -y nix-bin"
  apt-get install -y nix-bin >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y nix-bin >/dev/null; } ||
    { echo "FAILED: could not install nix-bin" >&2; exit 1; }
fi
# Evaluation only: a read-only store needs no daemon and writes nothing.
export NIX_REMOTE=
nixi() { nix-instantiate --readonly-mode "$@"; }
echo "using $(nix-instantiate --version)"

ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }

# Every .nix file of the repo parses.
while IFS= read -r -d '' f; do
  if err=$(nixi --parse "$f" 2>&1 >/dev/null); then ok "parses: ${f#"$root"/}"; else fail "parse ${f#"$root"/}: $err"; fi
done < <(find "$root" \( -name .git -o -name node_modules -o -name .lab \) -prune -o -name '*.nix' -type f -print0 | sort -z)

# Each *-check.nix returns the list of what it checked, or throws "FAILED: ...".
# A lib warning (e.g. a deprecated function) is a failure too.
export NIX_ABORT_ON_WARN=1
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
run_check() { # FILE
  local file=$1 out
  if out=$(nixi --eval --strict --json "$here/$file" --argstr root "$root" 2>"$errors"); then
    while IFS= read -r line; do ok "$line"; done < <(
      python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))' <<<"$out")
  else
    fail "$file: $(grep -v '^ *… while\|^ *at \|^\[' "$errors" | sed 's/^error: //')"
  fi
}
checks=(package-check.nix flake-check.nix module-check.nix compat-check.nix)
if [[ -z ${NIXPKGS_LIB:-} ]]; then
  for c in "${checks[@]}"; do
    echo "SKIPPED: $c (NIXPKGS_LIB not set: the path of a nixpkgs lib/)"
    skipped=$((skipped + 1))
  done
elif [[ ! -f $NIXPKGS_LIB/default.nix ]]; then
  fail "NIXPKGS_LIB=$NIXPKGS_LIB is not a nixpkgs lib/ (no default.nix)"
else
  NIXPKGS_LIB=$(cd "$NIXPKGS_LIB" && pwd)
  export NIXPKGS_LIB
  echo "using nixpkgs lib $(<"$NIXPKGS_LIB/.version") at $NIXPKGS_LIB"
  for c in "${checks[@]}"; do run_check "$c"; done
  # Not a check but the units' export that test/e2e/timers.test.ts runs in the lab: it evaluates.
  if out=$(nixi --eval --strict --json "$here/units.nix" --argstr root "$root" 2>"$errors"); then
    names='import json,sys; d=json.load(sys.stdin); print("services", *d["services"], "timers", *d["timers"])'
    ok "units.nix exports $(python3 -c "$names" <<<"$out")"
  else
    fail "units.nix: $(grep -v '^ *… while\|^ *at \|^\[' "$errors" | sed 's/^error: //')"
  fi
fi

echo "nix: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]

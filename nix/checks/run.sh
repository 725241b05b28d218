#!/usr/bin/env bash
# Offline checks of the Nix packaging, for CI: no nixpkgs can be fetched here,
# so Debian's nix-instantiate parses every .nix file and evaluates nix/ with
# the stand-ins of stubs.nix. Exits non-zero on any failure.
# NIXPKGS_LIB=/path/to/nixpkgs/lib also checks nix/module.nix with the real
# lib.evalModules.
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
run_check() { # FILE [nix-instantiate args...]
  local file=$1 out
  shift
  if out=$(nixi --eval --strict --json "$here/$file" --argstr root "$root" "$@" 2>&1); then
    while IFS= read -r line; do ok "$line"; done < <(python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))' <<<"$out")
  else
    fail "$file: $(grep -v '^ *… while\|^ *at \|^\[' <<<"$out" | sed 's/^error: //')"
  fi
}
run_check package-check.nix
run_check flake-check.nix
if [[ -n ${NIXPKGS_LIB:-} ]]; then
  run_check module-check.nix --argstr nixpkgsLib "$(cd "$NIXPKGS_LIB" && pwd)"
else
  echo "SKIPPED: module evaluation (NIXPKGS_LIB not set)"
  skipped=$((skipped + 1))
fi

echo "nix: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]

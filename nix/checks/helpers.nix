# Assertion helpers for the check files: each check yields its description,
# or throws "FAILED: ..." with what was found instead.
let
  lib = import ./nixpkgs-lib.nix;
in
rec {
  check =
    name: ok: got:
    if ok then name else throw "FAILED: ${name}\n  got: ${builtins.toJSON got}";

  equal = name: want: got: check name (want == got) got;

  contains = name: needle: hay: check name (lib.hasInfix needle hay) hay;
}

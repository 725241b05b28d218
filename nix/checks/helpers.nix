# Assertion helpers for the check files: each check yields its description,
# or throws "FAILED: ..." with what was found instead.
rec {
  check =
    name: ok: got:
    if ok then name else throw "FAILED: ${name}\n  got: ${builtins.toJSON got}";

  equal = name: want: got: check "${name}" (want == got) got;

  # builtins has no hasInfix in Nix 2.8.
  hasInfix =
    needle: hay:
    let
      n = builtins.stringLength needle;
      go = i: i + n <= builtins.stringLength hay && (builtins.substring i n hay == needle || go (i + 1));
    in
    go 0;

  contains = name: needle: hay: check "${name}" (hasInfix needle hay) hay;
}

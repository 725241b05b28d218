# The compatibility floor (nix/README.md): a hypervisor's flake may make ours
# follow its older nixpkgs, so every lib function and type that flake.nix and
# nix/*.nix use must be listed below with the release that has it, none newer
# than the floor, and each must still exist in the real lib ($NIXPKGS_LIB).
{ root }:
let
  inherit (import ./helpers.nix) check equal;
  lib = import ./nixpkgs-lib.nix;
  root' = /. + root;

  floor = "25.05";

  # A release that has each one (ancient ones: an old release, not their first).
  since = {
    assertMsg = "19.03";
    escapeShellArg = "19.03";
    "fileset.toSource" = "23.11";
    "fileset.unions" = "23.11";
    elem = "19.03";
    genAttrs = "19.03";
    filterAttrs = "19.03";
    getExe = "22.05";
    hasSuffix = "19.03";
    "licenses.mit" = "19.03";
    literalExpression = "21.11";
    makeBinPath = "19.03";
    mapAttrs = "19.03";
    mapAttrsToList = "19.03";
    mkBefore = "19.03";
    mkEnableOption = "19.03";
    mkIf = "19.03";
    mkMerge = "19.03";
    mkOption = "19.03";
    # With `extraDescription`.
    mkPackageOption = "22.05";
    optional = "19.03";
    "platforms.linux" = "19.03";
    removeSuffix = "19.03";
    types = "19.03";
    "types.attrsOf" = "19.03";
    "types.bool" = "19.03";
    "types.ints" = "19.03";
    "types.listOf" = "19.03";
    "types.nonEmptyListOf" = "19.03";
    "types.nullOr" = "19.03";
    "types.port" = "19.03";
    "types.str" = "19.03";
    "types.strMatching" = "19.09";
    "types.submodule" = "19.03";
    versionAtLeast = "19.03";
  };

  files = [
    "flake.nix"
    "nix/module.nix"
    "nix/operations.nix"
    "nix/metrics.nix"
    "nix/package.nix"
    "nix/test.nix"
  ];

  # Comments dropped (from a `#` on: these files have none inside strings).
  code =
    file:
    lib.concatMapStringsSep "\n" (
      line:
      let
        m = builtins.match "([^#]*)#.*" line;
      in
      if m == null then line else builtins.head m
    ) (lib.splitString "\n" (builtins.readFile (root' + "/${file}")));

  # Captures of each match of `regex` in `text`, as lists.
  matches = regex: text: builtins.filter builtins.isList (builtins.split regex text);

  ident = "[a-zA-Z_][a-zA-Z0-9_']*";
  usesIn =
    file:
    let
      text = code file;
    in
    map (m: builtins.elemAt m 1) (matches "(^|[^a-zA-Z0-9_.'-])lib\\.(${ident}(\\.${ident})*)" text)
    ++ map (m: "types.${builtins.elemAt m 1}") (matches "(^|[^a-zA-Z0-9_.'-])types\\.(${ident})" text)
    ++ lib.concatMap (m: lib.filter (n: n != "") (lib.splitString " " (builtins.head m))) (
      matches "inherit \\(lib\\) ([^;]*);" (builtins.replaceStrings [ "\n" ] [ " " ] text)
    );

  used = lib.unique (lib.concatMap usesIn files);
  listed = builtins.attrNames since;
  newer = lib.filterAttrs (_: release: !lib.versionAtLeast floor release) since;
  missing = lib.filter (p: !lib.hasAttrByPath (lib.splitString "." p) lib) listed;
  readme = builtins.readFile (root' + "/nix/README.md");
  package = builtins.readFile (root' + "/nix/package.nix");
in
[
  (equal "every lib name used is listed with its release" [ ] (lib.subtractLists listed used))
  (equal "every listed lib name is used" [ ] (lib.subtractLists used listed))
  (equal "none newer than the floor, nixpkgs ${floor}" { } newer)
  (equal "all exist in the real lib (${lib.trivial.release})" [ ] missing)
  (check "nix/README.md states the floor" (lib.hasInfix "nixpkgs ${floor} and later" readme) null)
  (check "the package's Node error names the floor" (lib.hasInfix "nixpkgs ${floor} or later" package) null)
]

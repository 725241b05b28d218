# Stand-ins for the nixpkgs packages nix/ uses: CI has nixpkgs' lib (real, from
# $NIXPKGS_LIB) but no package set and no network, so derivations are faked here.
let
  lib = import ./nixpkgs-lib.nix;

  drv =
    name: extra:
    {
      type = "derivation";
      inherit name;
      outPath = "/stub/${name}";
      meta = { };
    }
    // extra;

  # The packages nix/package.nix asks callPackage for (`lib` is the real one).
  packages = {
    inherit lib;
    stdenvNoCC.mkDerivation =
      args:
      let
        name = "${args.pname}-${args.version}";
      in
      args
      // args.passthru or { }
      // {
        type = "derivation";
        inherit name;
        outPath = "/stub/${name}";
      };
    makeWrapper = drv "makeWrapper" { };
    nodejs = node "22.14.0";
    zfs = drv "zfs" { };
    systemd = drv "systemd" { };
    coreutils = drv "coreutils" { };
    # Multi-output like nixpkgs' util-linux: the binaries are in its `bin` output.
    util-linux = drv "util-linux" {
      outputs = [ "bin" "out" ];
      bin = drv "util-linux-bin" { };
    };
  };

  node =
    version:
    drv "nodejs-${version}" {
      inherit version;
      meta.mainProgram = "node";
    };

  # `import nixpkgs { system; overlays; }` as flake.nix uses it; real
  # callPackage (with .override) and real overlay composition.
  importNixpkgs =
    {
      system,
      overlays ? [ ],
    }:
    lib.fix (
      lib.extends (lib.composeManyExtensions overlays) (
        final:
        packages
        // {
          callPackage = lib.callPackageWith final;
          stdenv.hostPlatform.system = system;
          testers.runNixOSTest = test: { runNixOSTest = test; };
        }
      )
    );
in
{
  inherit
    lib
    drv
    node
    packages
    importNixpkgs
    ;
  callPackage = lib.callPackageWith packages;
}

# Stand-ins for the few nixpkgs pieces nix/ uses, so nix/checks can evaluate
# our expressions with a bare nix-instantiate: no nixpkgs on the CI machines.
let
  inherit (builtins) concatStringsSep pathExists replaceStrings;

  drv =
    name: extra:
    {
      type = "derivation";
      inherit name;
      outPath = "/stub/${name}";
      meta = { };
    }
    // extra;

  lib = {
    # Same results as nixpkgs' for the values we pass (no multi-output packages).
    makeBinPath = ps: concatStringsSep ":" (map (p: "${p}/bin") ps);
    getExe = p: "${p}/bin/${p.meta.mainProgram}";
    escapeShellArg = s: "'${replaceStrings [ "'" ] [ "'\\''" ] (toString s)}'";
    genAttrs =
      names: f:
      builtins.listToAttrs (
        map (name: {
          inherit name;
          value = f name;
        }) names
      );
    fileset = {
      # Like the real lib.fileset, a named file that does not exist is an error.
      unions = map (
        p: if pathExists p then p else throw "lib.fileset (stub): ${toString p} does not exist"
      );
      toSource =
        { root, fileset }:
        {
          inherit root;
          files = fileset;
        };
    };
    licenses.mit.spdxId = "MIT";
    platforms.linux = [
      "aarch64-linux"
      "x86_64-linux"
    ];
  };

  # What callPackage passes to nix/package.nix.
  packageArgs = {
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
    nodejs = drv "nodejs" { meta.mainProgram = "node"; };
    zfs = drv "zfs" { };
    systemd = drv "systemd" { };
    coreutils = drv "coreutils" { };
  };

  # `import nixpkgs { system; overlays; }` as flake.nix uses it.
  importNixpkgs =
    {
      system,
      overlays ? [ ],
    }:
    let
      base = packageArgs // {
        inherit callPackage;
        stdenv.hostPlatform.system = system;
        testers.runNixOSTest = test: { runNixOSTest = test; };
      };
      final = builtins.foldl' (prev: overlay: prev // overlay final prev) base overlays;
      callPackage =
        fn: args:
        let
          f = import fn;
          call = a: f (builtins.intersectAttrs (builtins.functionArgs f) final // a) // { override = more: call (a // more); };
        in
        call args;
    in
    final;
in
{
  inherit drv lib packageArgs importNixpkgs;
}

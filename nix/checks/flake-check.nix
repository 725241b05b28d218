# flake.nix's outputs, with a nixpkgs input of the real lib and stand-in
# packages; `root` is the repo checkout.
{ root }:
let
  inherit (import ./helpers.nix) check equal;
  stubs = import ./stubs.nix;
  pkgs = stubs.importNixpkgs { system = "x86_64-linux"; };
  root' = /. + root;
  flake = import (root' + "/flake.nix");
  version = (builtins.fromJSON (builtins.readFile (root' + "/package.json"))).version;
  out = flake.outputs {
    self = out;
    nixpkgs = {
      inherit (stubs) lib;
      outPath = ./stub-nixpkgs;
    };
  };
  systems = [
    "aarch64-linux"
    "x86_64-linux"
  ];
  forEach = f: map f systems;
  exe = "/stub/vm-state-${version}/bin/vm-state";
  machine = out.checks.x86_64-linux.vm-state.runNixOSTest.nodes.machine { inherit pkgs; };
in
[
  (equal "nixpkgs input is nixos-26.05" "github:NixOS/nixpkgs/nixos-26.05" flake.inputs.nixpkgs.url)
  (equal "outputs" [
    "apps"
    "checks"
    "nixosModules"
    "overlays"
    "packages"
  ] (builtins.attrNames out))
]
++ forEach (
  s:
  equal "packages.${s}.{default,vm-state} are vm-state ${version}" [ version version ] [
    out.packages.${s}.default.version
    out.packages.${s}.vm-state.version
  ]
)
++ forEach (s: equal "apps.${s}.default runs ${exe}" exe out.apps.${s}.default.program)
++ forEach (s: equal "checks.${s}.vm-state is a NixOS test named vm-state" "vm-state" out.checks.${s}.vm-state.runNixOSTest.name)
++ [
  (equal "overlay callPackages nix/package.nix"
    "/run/booted-system/sw/bin:/stub/zfs/bin:/stub/systemd/bin:/stub/coreutils/bin:/stub/util-linux-bin/bin"
    out.packages.x86_64-linux.vm-state.binPath
  )
  (equal "nixosModules.default imports nix/module.nix" [ (root' + "/nix/module.nix") ] out.nixosModules.default.imports)
  (check "nixosModules.default adds an overlay providing vm-state" (
    let
      overlays = out.nixosModules.default.nixpkgs.overlays;
    in
    builtins.length overlays == 1 && ((builtins.head overlays) pkgs pkgs) ? vm-state
  ) null)
  (equal "the VM test imports nix/module.nix and enables it" [ [ (root' + "/nix/module.nix") ] true ] [
    machine.imports
    machine.programs.vm-state.enable
  ])
]

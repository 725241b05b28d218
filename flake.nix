{
  description = "vm-state: portable VM states (ZFS datasets) for microVM slots";

  # The current stable release. A hypervisor that makes this follow its own nixpkgs
  # needs 25.05 or later (nix/README.md, "Compatibility").
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      forAllSystems =
        f:
        lib.genAttrs [ "aarch64-linux" "x86_64-linux" ] (
          system:
          f (
            import nixpkgs {
              inherit system;
              overlays = [ self.overlays.default ];
            }
          )
        );
    in
    {
      overlays.default = final: prev: {
        vm-state = final.callPackage ./nix/package.nix { };
      };

      packages = forAllSystems (pkgs: {
        inherit (pkgs) vm-state;
        default = pkgs.vm-state;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = lib.getExe pkgs.vm-state;
          meta.description = pkgs.vm-state.meta.description;
        };
      });

      # The overlay supplies the module's default `pkgs.vm-state`.
      nixosModules.default = {
        imports = [ ./nix/module.nix ];
        nixpkgs.overlays = [ self.overlays.default ];
      };

      checks = forAllSystems (pkgs: {
        vm-state = import ./nix/test.nix { inherit pkgs; };
      });
    };
}

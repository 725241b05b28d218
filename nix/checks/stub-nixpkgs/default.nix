# Stands in for the nixpkgs flake input in flake-check.nix.
(import ../stubs.nix).importNixpkgs

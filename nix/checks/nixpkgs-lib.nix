# nixpkgs' real lib, from $NIXPKGS_LIB (run.sh makes it absolute). A file, not
# an argument, so that stub-nixpkgs, which flake.nix imports, can reach it too.
let
  dir = builtins.getEnv "NIXPKGS_LIB";

  # Debian's Nix (2.8) lacks builtins.readFileType (Nix 2.14), which lib.fileset
  # needs: load the lib with it added, computed from readDir like Nix does.
  readFileType =
    path:
    let
      s = toString path;
    in
    if s == "/" then "directory" else (builtins.readDir (dirOf s)).${baseNameOf s};
  scope = {
    builtins = builtins // {
      inherit readFileType;
    };
    import = scopedImport scope;
  };
  load = if builtins ? readFileType then import else scopedImport scope;
in
if dir == "" then throw "NIXPKGS_LIB is not set: use nix/checks/run.sh" else load (/. + dir)

# nix/package.nix with the real lib and stand-in packages; `root` is the repo checkout.
{ root }:
let
  inherit (import ./helpers.nix) check equal contains;
  stubs = import ./stubs.nix;
  inherit (stubs) lib;
  root' = /. + root;
  packageJson = builtins.fromJSON (builtins.readFile (root' + "/package.json"));
  pkg = stubs.callPackage (root' + "/nix/package.nix") { };
  entry = ''"$out/lib/vm-state/bin/vm-state"'';

  # The files the real lib.fileset source lets into the store, relative to the
  # repo, found the way builtins.path walks it: its filter decides, dirs first.
  srcFiles =
    dir: rel:
    lib.concatLists (
      lib.mapAttrsToList (
        name: type:
        let
          p = dir + "/${name}";
        in
        if !pkg.src.filter (toString p) type then
          [ ]
        else if type == "directory" then
          srcFiles p "${rel}${name}/"
        else
          [ "${rel}${name}" ]
      ) (builtins.readDir dir)
    );

  # Whether the package evaluates with this Node version as `nodejs`.
  evaluates =
    version:
    let
      p = stubs.callPackage (root' + "/nix/package.nix") { nodejs = stubs.node version; };
    in
    (builtins.tryEval p.outPath).success;
in
[
  (equal "package.json name is vm-state" "vm-state" packageJson.name)
  (equal "pname is package.json's name" packageJson.name pkg.pname)
  (equal "version is package.json's version (${packageJson.version})" packageJson.version pkg.version)
  (equal "src is only the bundle and its launcher"
    [ "bin/package.json" "bin/vm-state" "dist/help.txt" "dist/mcp.cjs" "dist/run.cjs" "dist/vm-state.cjs" ]
    (srcFiles root' ""))
  (equal "src root is the repo" root' pkg.src.origSrc)
  (equal "wrapper PATH: booted system, then zfs, systemd, coreutils, util-linux's bin"
    "/run/booted-system/sw/bin:/stub/zfs/bin:/stub/systemd/bin:/stub/coreutils/bin:/stub/util-linux-bin/bin"
    pkg.binPath
  )
  (contains "wrapper prefixes that PATH" "--prefix PATH : ${lib.escapeShellArg pkg.binPath}"
    pkg.installPhase)
  (contains "bundle installed next to the launcher"
    ''install -Dm644 dist/vm-state.cjs "$out/lib/vm-state/dist/vm-state.cjs"'' pkg.installPhase)
  (contains "what runs a command installed beside the command line, which requires it from there"
    ''install -Dm644 dist/run.cjs "$out/lib/vm-state/dist/run.cjs"'' pkg.installPhase)
  (contains "MCP server installed beside the bundle, which requires it from there"
    ''install -Dm644 dist/mcp.cjs "$out/lib/vm-state/dist/mcp.cjs"'' pkg.installPhase)
  (contains "the help the launcher prints installed beside the bundle"
    ''install -Dm644 dist/help.txt "$out/lib/vm-state/dist/help.txt"'' pkg.installPhase)
  (contains "install check asks the MCP server for its tools" "vm-state\" mcp" pkg.installCheckPhase)
  (contains "launcher installed" ''install -Dm644 bin/vm-state ${entry}'' pkg.installPhase)
  (contains "launcher stays CommonJS"
    ''install -Dm644 bin/package.json "$out/lib/vm-state/bin/package.json"'' pkg.installPhase)
  (contains "wrapper unsets NODE_COMPILE_CACHE: the launcher checks the cache directory first"
    "--unset NODE_COMPILE_CACHE" pkg.installPhase)
  (contains "wrapper runs nodejs' node"
    ''makeWrapper /stub/nodejs-22.14.0/bin/node "$out/bin/vm-state"'' pkg.installPhase)
  (check "Node 22.1 and 24 accepted" (lib.all evaluates [ "22.1.0" "24.0.0" ]) null)
  (check "Node 20 and 22.0 (no module.enableCompileCache) refused at evaluation"
    (!evaluates "20.19.0" && !evaluates "22.0.0") null)
  (contains "wrapper runs the installed launcher" "--add-flags ${entry}" pkg.installPhase)
  (check "makeWrapper is a build input" (builtins.elem stubs.packages.makeWrapper pkg.nativeBuildInputs)
    pkg.nativeBuildInputs)
  (equal "install check enabled" true pkg.doInstallCheck)
  (contains "install check runs --help, printed from the installed help"
    "\"$out/bin/vm-state\" --help 2>&1 >/dev/null | grep -F 'printed from dist/help.txt'" pkg.installCheckPhase)
  (contains "install check writes no compile cache" "export VM_STATE_CACHE_DIR=" pkg.installCheckPhase)
  (contains "install check runs --version and expects the version"
    "\"$out/bin/vm-state\" --version | grep -F ${lib.escapeShellArg packageJson.version}"
    pkg.installCheckPhase)
  (equal "meta.mainProgram" "vm-state" pkg.meta.mainProgram)
  (equal "meta.license is MIT" "MIT" pkg.meta.license.spdxId)
  (check "meta.platforms: both flake systems, linux only"
    (lib.all (s: builtins.elem s pkg.meta.platforms) [ "aarch64-linux" "x86_64-linux" ]
      && !builtins.elem "x86_64-darwin" pkg.meta.platforms)
    pkg.meta.platforms)
]

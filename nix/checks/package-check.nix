# nix/package.nix evaluated with the stand-ins; `root` is the repo checkout.
{ root }:
let
  inherit (import ./helpers.nix) check equal contains;
  stubs = import ./stubs.nix;
  root' = /. + root;
  packageJson = builtins.fromJSON (builtins.readFile (root' + "/package.json"));
  pkg = import (root' + "/nix/package.nix") stubs.packageArgs;
  entry = ''"$out/lib/vm-state/bin/vm-state"'';
in
[
  (equal "package.json name is vm-state" "vm-state" packageJson.name)
  (equal "pname is package.json's name" packageJson.name pkg.pname)
  (equal "version is package.json's version (${packageJson.version})" packageJson.version pkg.version)
  (equal "src is only the bundle and its launcher"
    [ (root' + "/dist/vm-state.cjs") (root' + "/bin/vm-state") (root' + "/bin/package.json") ]
    pkg.src.files)
  (equal "src root is the repo" root' pkg.src.root)
  (equal "wrapper PATH: booted system, then zfs, systemd, coreutils"
    "/run/booted-system/sw/bin:/stub/zfs/bin:/stub/systemd/bin:/stub/coreutils/bin"
    pkg.binPath
  )
  (contains "wrapper prefixes that PATH" "--prefix PATH : '${pkg.binPath}'" pkg.installPhase)
  (contains "bundle installed next to the launcher" ''install -Dm644 dist/vm-state.cjs "$out/lib/vm-state/dist/vm-state.cjs"'' pkg.installPhase)
  (contains "launcher installed" ''install -Dm644 bin/vm-state ${entry}'' pkg.installPhase)
  (contains "launcher stays CommonJS" ''install -Dm644 bin/package.json "$out/lib/vm-state/bin/package.json"'' pkg.installPhase)
  (contains "wrapper runs node" ''makeWrapper /stub/nodejs/bin/node "$out/bin/vm-state"'' pkg.installPhase)
  (contains "wrapper runs the installed launcher" "--add-flags ${entry}" pkg.installPhase)
  (check "makeWrapper is a build input" (builtins.elem stubs.packageArgs.makeWrapper pkg.nativeBuildInputs) pkg.nativeBuildInputs)
  (equal "install check enabled" true pkg.doInstallCheck)
  (contains "install check runs --help" ''"$out/bin/vm-state" --help'' pkg.installCheckPhase)
  (contains "install check runs --version and expects the version" 
    "\"$out/bin/vm-state\" --version | grep -F '${packageJson.version}'"
    pkg.installCheckPhase)
  (equal "meta.mainProgram" "vm-state" pkg.meta.mainProgram)
  (equal "meta.platforms is linux" stubs.lib.platforms.linux pkg.meta.platforms)
]

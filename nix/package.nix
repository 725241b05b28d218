# vm-state from the committed bundle (dist/vm-state.cjs, the command line; dist/run.cjs,
# what runs a command; dist/mcp.cjs, the MCP server only `vm-state mcp` loads; and
# dist/help.txt, the top-level help printed without them) and the launcher that
# runs it with Node's own compile cache (bin/vm-state).
# No buildNpmPackage: the lockfile has no `resolved` URLs on purpose, so npm
# dependencies cannot be fetched by Nix; the bundle already contains them.
{
  lib,
  stdenvNoCC,
  makeWrapper,
  nodejs,
  zfs,
  systemd,
  coreutils,
  util-linux,
}:
# `nodejs` is 22 from nixos-25.05 on (the floor, see nix/README.md) and newer later;
# an older nixpkgs gives 20, which vm-state does not support: say so at evaluation.
# 22.1: the first with module.enableCompileCache, which the launcher uses.
assert lib.assertMsg (lib.versionAtLeast nodejs.version "22.1")
  "vm-state needs Node.js >= 22.1, this nixpkgs' nodejs is ${nodejs.version}: use nixpkgs 25.05 or later";
let
  packageJson = builtins.fromJSON (builtins.readFile ../package.json);

  # The booted system's zfs comes first: its userland matches the loaded
  # kernel module (same reasoning as nixpkgs' sanoid). The pinned inputs are
  # the fallback, e.g. outside NixOS or before /run/booted-system exists.
  binPath = lib.makeBinPath [
    "/run/booted-system/sw"
    zfs
    systemd
    coreutils
    util-linux # flock, for vm-state's lock
  ];
in
stdenvNoCC.mkDerivation {
  pname = packageJson.name;
  inherit (packageJson) version;

  # Only the bundle (the version is inlined in it) and its launcher, so edits elsewhere do not rebuild.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../dist/vm-state.cjs
      ../dist/run.cjs
      ../dist/mcp.cjs
      ../dist/help.txt
      ../bin/vm-state
      ../bin/package.json
    ];
  };

  nativeBuildInputs = [ makeWrapper ];

  dontConfigure = true;
  dontBuild = true;

  installPhase = ''
    runHook preInstall

    # The launcher finds the bundle at ../dist/ and is CommonJS by bin/package.json: keep that layout.
    # NODE_COMPILE_CACHE would make Node cache code before the launcher can check the
    # directory (README, "Start-up"): unset; VM_STATE_CACHE_DIR chooses the place.
    install -Dm644 dist/vm-state.cjs "$out/lib/vm-state/dist/vm-state.cjs"
    # Beside it: the command line requires ./run.cjs, and that ./mcp.cjs, from their own directory.
    install -Dm644 dist/run.cjs "$out/lib/vm-state/dist/run.cjs"
    install -Dm644 dist/mcp.cjs "$out/lib/vm-state/dist/mcp.cjs"
    # The top-level help the launcher prints to a pipe without loading the bundle.
    install -Dm644 dist/help.txt "$out/lib/vm-state/dist/help.txt"
    install -Dm644 bin/vm-state "$out/lib/vm-state/bin/vm-state"
    install -Dm644 bin/package.json "$out/lib/vm-state/bin/package.json"
    makeWrapper ${lib.getExe nodejs} "$out/bin/vm-state" \
      --add-flags "$out/lib/vm-state/bin/vm-state" \
      --unset NODE_COMPILE_CACHE \
      --prefix PATH : ${lib.escapeShellArg binPath}

    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck

    # No compile cache in the build sandbox.
    export VM_STATE_CACHE_DIR=
    # The saved help, from the installed file: the launcher says so.
    VM_STATE_TRACE=1 "$out/bin/vm-state" --help 2>&1 >/dev/null | grep -F 'printed from dist/help.txt'
    "$out/bin/vm-state" --version | grep -F ${lib.escapeShellArg packageJson.version}
    # The MCP server loads (its own file) and answers on stdio; without writes, nothing can change.
    echo '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' | "$out/bin/vm-state" mcp | grep -F '"name":"list"'

    runHook postInstallCheck
  '';

  # Exposed for nix/checks (offline evaluation with stand-ins).
  passthru = { inherit binPath; };

  meta = {
    description = packageJson.description;
    license = lib.licenses.mit;
    mainProgram = "vm-state";
    platforms = lib.platforms.linux;
  };
}

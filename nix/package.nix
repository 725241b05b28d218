# vm-state from the committed single-file bundle (dist/vm-state.mjs).
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
}:
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
  ];
in
stdenvNoCC.mkDerivation {
  pname = packageJson.name;
  inherit (packageJson) version;

  # Only the bundle (the version is inlined in it), so edits elsewhere do not rebuild.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [ ../dist/vm-state.mjs ];
  };

  nativeBuildInputs = [ makeWrapper ];

  dontConfigure = true;
  dontBuild = true;

  installPhase = ''
    runHook preInstall

    install -Dm644 dist/vm-state.mjs "$out/lib/vm-state/vm-state.mjs"
    makeWrapper ${lib.getExe nodejs} "$out/bin/vm-state" \
      --add-flags "$out/lib/vm-state/vm-state.mjs" \
      --prefix PATH : ${lib.escapeShellArg binPath}

    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck

    "$out/bin/vm-state" --help >/dev/null
    "$out/bin/vm-state" --version | grep -F ${lib.escapeShellArg packageJson.version}

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

# The systemd units nix/module.nix defines, as JSON, for test/e2e/timers.test.ts to render
# (test/e2e/nixos-units.ts) and run under the lab's real systemd. Evaluated like
# module-check.nix (nixpkgs' real lib, stand-in packages), with every timer on:
#   nix-instantiate --eval --strict --json nix/checks/units.nix --argstr root "$PWD"
# Each unit's options as NixOS's unit renderer reads them, not yet rendered: store
# paths are the stand-ins' (/stub/...), which the renderer maps to the lab's programs.
{ root }:
let
  inherit (import ./stubs.nix) lib;
  standIns = import ./nixos-stand-ins.nix { inherit root; };

  config = standIns.eval [
    {
      programs.vm-state = {
        enable = true;
        autoSnapshot.enable = true;
        metrics.enable = true;
        # A remote no lab has (global-setup may bring a peer up: it must not be this one),
        # so the job fails as a job does when the other host is down.
        settings.remotes.offsite = {
          destination = "root@vmstate-nowhere";
          sshOptions.ConnectTimeout = "5";
        };
        replication.offsite.remote = "offsite";
      };
    }
  ];

  # NixOS refuses a configuration whose assertions fail: so does this export.
  failed = lib.filter (a: !a.assertion) config.assertions;
  pkg = config.programs.vm-state.package;

  ours = lib.filterAttrs (name: _: lib.hasPrefix "vm-state-" name);
  common = [
    "enable"
    "description"
    "documentation"
    "requires"
    "wants"
    "after"
    "before"
    "bindsTo"
    "partOf"
    "conflicts"
    "requisite"
    "onFailure"
    "wantedBy"
    "requiredBy"
    "unitConfig"
  ];
  service =
    s:
    lib.getAttrs (
      common
      ++ [
        "serviceConfig"
        "environment"
        "script"
        "scriptArgs"
        "preStart"
        "postStart"
        "reload"
        "preStop"
        "postStop"
      ]
    ) s
    // {
      # A package's binaries are in its `bin` output, as NixOS's makeBinPath finds them.
      path = map (p: if builtins.isString p then p else "${lib.getBin p}") s.path;
    };
in
if failed != [ ] then
  throw "FAILED: assertions: ${lib.concatMapStringsSep "; " (a: a.message) failed}"
else
  {
    services = lib.mapAttrs (_: service) (ours config.systemd.services);
    timers = lib.mapAttrs (_: lib.getAttrs (common ++ [ "timerConfig" ])) (ours config.systemd.timers);
    # What the units read, made by NixOS beside them: the config file and the directories.
    configJson = config.environment.etc."vm-state/config.json".source.json;
    tmpfiles = config.systemd.tmpfiles.settings;
    # Not `outPath`: an attribute set with one is a string to toJSON.
    package = {
      out = "${pkg}";
      exe = lib.getExe pkg;
      # The PATH its wrapper puts first (nix/package.nix) and what it runs.
      inherit (pkg) binPath;
      node = lib.getExe (import ./stubs.nix).packages.nodejs;
    };
  }

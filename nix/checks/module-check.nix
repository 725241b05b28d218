# nix/module.nix evaluated with nixpkgs' real lib.evalModules ($NIXPKGS_LIB)
# next to stand-in declarations of the NixOS options it defines or reads
# (nixos-stand-ins.nix).
{ root }:
let
  inherit (import ./helpers.nix) check equal;
  inherit (import ./stubs.nix) lib;
  standIns = import ./nixos-stand-ins.nix { inherit root; };

  # Shaped like microvm.nix's template unit, which ours must add to.
  microvmTemplate.systemd.services."microvm@" = {
    description = "MicroVM '%i'";
    serviceConfig = {
      ExecStart = "/stub/microvm-run";
      ExecStartPre = [ "/stub/microvm-pre-start" ];
      User = "microvm";
    };
  };

  eval =
    settings:
    standIns.eval [
      microvmTemplate
      settings
    ];

  on = eval { programs.vm-state.enable = true; };
  unit = on.systemd.services."microvm@";
  pkg = on.programs.vm-state.package;
  guard = "+${pkg}/bin/vm-state preflight %i";
  dir = {
    d = {
      user = "microvm";
      group = "kvm";
      mode = "0755";
    };
  };

  custom = eval {
    programs.vm-state = {
      enable = true;
      settings = {
        statesDir = "/srv/states";
        slotsDir = "/srv/slots";
        slots = [ "a" ];
        owner = "vm";
        lockFile = "/run/x.lock";
        remotes.hv2 = {
          destination = "root@hv2";
          sshOptions.ConnectTimeout = "5";
        };
      };
    };
  };
  noGuard = eval {
    programs.vm-state = {
      enable = true;
      startGuard.enable = false;
    };
  };
  opsSettings = {
    programs.vm-state = {
      enable = true;
      settings.remotes.hv2.destination = "root@hv2";
      autoSnapshot = {
        enable = true;
        policies.short = {
          hourly = 6;
          daily = 2;
        };
        states = {
          db = "short";
          scratch = null;
        };
      };
      replication.offsite = {
        remote = "hv2";
        interval = "15m";
      };
    };
  };
  ops = eval opsSettings;
  # The timers' runs change things, so they rewrite the metrics file too (settings.metricsFile).
  opsMetrics = eval {
    imports = [ opsSettings ];
    programs.vm-state.metrics.enable = true;
  };
  opsJson = builtins.fromJSON ops.environment.etc."vm-state/config.json".source.json;
  badRefs = eval {
    programs.vm-state = {
      enable = true;
      autoSnapshot.states.db = "nope";
      replication.x.remote = "nowhere";
    };
  };
  # A host whose node_exporter already reads a textfile directory of its own.
  metrics = eval {
    programs.vm-state = {
      enable = true;
      metrics.enable = true;
    };
    services.prometheus.exporters.node = {
      enable = true;
      enabledCollectors = [ "systemd" ];
      extraFlags = [ "--collector.textfile.directory=/etc/own-textfiles" ];
    };
  };
  metricsUnit = metrics.systemd.services.vm-state-metrics;
  promDir = "/var/lib/prometheus-node-exporter-text-files";
  promFile = "${promDir}/vm-state.prom";
  metricsNoNode = eval {
    programs.vm-state = {
      enable = true;
      metrics = {
        enable = true;
        interval = "30s";
        directory = "/run/textfiles";
      };
    };
  };
  metricsNoTextfile = eval {
    programs.vm-state = {
      enable = true;
      metrics.enable = true;
    };
    services.prometheus.exporters.node = {
      enable = true;
      disabledCollectors = [ "textfile" ];
    };
  };
  off = eval { };
in
[
  (equal "config.json holds the hypervisor's defaults" {
    pool = "microvms";
    dataset = "storage/states";
    statesDir = "/var/lib/microvms/states";
    slotsDir = "/var/lib/microvms";
    assignmentsFile = "/etc/vm-state-assignments.json";
    slots = [ "slot1" "slot2" "slot3" "slot4" "slot5" ];
    unitTemplate = "microvm@%s.service";
    owner = "microvm";
    group = "kvm";
    remotes = { };
    policies.default = {
      latest = 1;
      hourly = 24;
      daily = 7;
      weekly = 4;
      monthly = 12;
      yearly = 0;
    };
    autoSnapshot = {
      interval = "1h";
      policy = "default";
      states = { };
    };
    replication = { };
    trash.keep = "7d";
    mcp = {
      allowWrites = false;
      planTtlSeconds = 600;
    };
  } (builtins.fromJSON on.environment.etc."vm-state/config.json".source.json))
  (equal "no timers unless asked" [ ] (builtins.attrNames on.systemd.timers))
  (equal "autoSnapshot: policies, per-state policies and jobs reach config.json" [
    { short = { latest = 1; hourly = 6; daily = 2; weekly = 0; monthly = 0; yearly = 0; }; }
    { db = "short"; scratch = null; }
    { offsite = { remote = "hv2"; states = [ "*" ]; interval = "15m"; }; }
  ] [
    (lib.getAttrs [ "short" ] opsJson.policies)
    opsJson.autoSnapshot.states
    opsJson.replication
  ])
  (equal "timers: auto-snapshot and replicate, persistent, with a randomized delay" {
    vm-state-auto-snapshot = {
      OnCalendar = "*:0/15";
      Persistent = true;
      RandomizedDelaySec = "2min";
    };
    vm-state-replicate = {
      OnCalendar = "*:0/5";
      Persistent = true;
      RandomizedDelaySec = "2min";
    };
  } (lib.mapAttrs (_: t: t.timerConfig) ops.systemd.timers))
  (equal "the services run vm-state, after the pool is mounted, sandboxed" [
    [
      "${pkg}/bin/vm-state auto-snapshot"
      "${pkg}/bin/vm-state trash purge --expired --yes"
    ]
    "${pkg}/bin/vm-state replicate"
    [ "/var/lib/microvms/states" ]
    "strict"
    true
  ] [
    ops.systemd.services.vm-state-auto-snapshot.serviceConfig.ExecStart
    ops.systemd.services.vm-state-replicate.serviceConfig.ExecStart
    ops.systemd.services.vm-state-auto-snapshot.unitConfig.RequiresMountsFor
    ops.systemd.services.vm-state-replicate.serviceConfig.ProtectSystem
    (lib.elem "zfs-mount.service" ops.systemd.services.vm-state-replicate.unitConfig.After)
  ])
  (equal "the timers' services may write the metrics file's directory, when there is one" [
    [ "/var/lib/microvms/states" "/var/lib/microvms" "/run" ]
    [ "/var/lib/microvms/states" "/var/lib/microvms" "/run" "-${promDir}" ]
    [ "/var/lib/microvms/states" "/var/lib/microvms" "/run" "-${promDir}" "/var/lib/vm-state" ]
  ] [
    ops.systemd.services.vm-state-auto-snapshot.serviceConfig.ReadWritePaths
    opsMetrics.systemd.services.vm-state-auto-snapshot.serviceConfig.ReadWritePaths
    opsMetrics.systemd.services.vm-state-replicate.serviceConfig.ReadWritePaths
  ])
  (equal "a job's unknown remote and a state's unknown policy fail the assertions" [
    "programs.vm-state.replication.x.remote names no remote \"nowhere\" of settings.remotes."
    "programs.vm-state.autoSnapshot.states.db names no policy \"nope\"."
  ] (map (a: a.message) (lib.filter (a: !a.assertion) badRefs.assertions)))
  (equal "tmpfiles: states dir and slot dirs, microvm:kvm 0755" {
    "/var/lib/microvms/states" = dir;
    "/var/lib/microvms/slot1" = dir;
    "/var/lib/microvms/slot2" = dir;
    "/var/lib/microvms/slot3" = dir;
    "/var/lib/microvms/slot4" = dir;
    "/var/lib/microvms/slot5" = dir;
  } on.systemd.tmpfiles.settings.vm-state)
  (equal "ExecStartPre: guard first, microvm.nix's kept" [ guard "/stub/microvm-pre-start" ] unit.serviceConfig.ExecStartPre)
  (equal "microvm.nix's ExecStart and User untouched" [ "/stub/microvm-run" "microvm" ] [
    unit.serviceConfig.ExecStart
    unit.serviceConfig.User
  ])
  (equal "RequiresMountsFor the states dir" [ "/var/lib/microvms/states" ] unit.unitConfig.RequiresMountsFor)
  (equal "default package uses the host's zfs and systemd"
    "/run/booted-system/sw/bin:/stub/host-zfs/bin:/stub/host-systemd/bin:/stub/coreutils/bin:/stub/util-linux-bin/bin"
    pkg.binPath
  )
  (equal "package in systemPackages" [ pkg ] on.environment.systemPackages)
  (check "assertions hold" (lib.all (a: a.assertion) on.assertions) on.assertions)
  (equal "custom settings reach config.json, free-form keys too" {
    slots = [ "a" ];
    owner = "vm";
    lockFile = "/run/x.lock";
  } (
    lib.getAttrs [ "slots" "owner" "lockFile" ] (
      builtins.fromJSON custom.environment.etc."vm-state/config.json".source.json
    )
  ))
  (equal "remotes reach config.json, unset options left out" {
    hv2 = {
      destination = "root@hv2";
      sshOptions.ConnectTimeout = "5";
    };
  } (builtins.fromJSON custom.environment.etc."vm-state/config.json".source.json).remotes)
  (equal "custom settings reach tmpfiles" [ "/srv/slots/a" "/srv/states" ] (
    builtins.attrNames custom.systemd.tmpfiles.settings.vm-state
  ))
  (equal "startGuard.enable = false leaves the unit alone" [ "/stub/microvm-pre-start" ] noGuard.systemd.services."microvm@".serviceConfig.ExecStartPre)
  (equal "disabled: no config file, no tmpfiles, no packages" [ { } { } [ ] ] [
    off.environment.etc
    off.systemd.tmpfiles.settings
    off.environment.systemPackages
  ])
  (equal "metrics off by default: no service, no metricsFile, node_exporter's flags untouched" [
    false
    false
    [ ]
  ] [
    (on.systemd.services ? vm-state-metrics)
    ((builtins.fromJSON on.environment.etc."vm-state/config.json".source.json) ? metricsFile)
    on.services.prometheus.exporters.node.extraFlags
  ])
  (equal "metrics: a oneshot service writes the textfile directory's vm-state.prom" [
    "oneshot"
    "${pkg}/bin/vm-state metrics --output ${promFile}"
  ] [
    metricsUnit.serviceConfig.Type
    metricsUnit.serviceConfig.ExecStart
  ])
  (equal "metrics: its timer runs it every interval (1min), to the second" {
    OnBootSec = "15s";
    OnUnitActiveSec = "1min";
    AccuracySec = "1s";
  } metrics.systemd.timers.vm-state-metrics.timerConfig)
  (equal "metrics: the timer is wanted by timers.target" [ "timers.target" ]
    metrics.systemd.timers.vm-state-metrics.wantedBy
  )
  (equal "metrics: config.json's metricsFile, so every change rewrites the same file" promFile
    (builtins.fromJSON metrics.environment.etc."vm-state/config.json".source.json).metricsFile
  )
  (equal "metrics: node_exporter gets the directory flag beside its own; no collector listed twice" [
    [
      "--collector.textfile.directory=/etc/own-textfiles"
      "--collector.textfile.directory=/var/lib/prometheus-node-exporter-text-files"
    ]
    [ "systemd" ]
  ] [
    (builtins.sort builtins.lessThan metrics.services.prometheus.exporters.node.extraFlags)
    metrics.services.prometheus.exporters.node.enabledCollectors
  ])
  (equal "metrics: the directory made by tmpfiles, root 0755 (node_exporter reads it)" {
    "/var/lib/prometheus-node-exporter-text-files".d = {
      user = "root";
      group = "root";
      mode = "0755";
    };
  } metrics.systemd.tmpfiles.settings.vm-state-metrics)
  (equal "metrics: sandboxed, writing the directory only, /dev/zfs reachable, the file world-readable" {
    ProtectSystem = "strict";
    ReadWritePaths = [ "/var/lib/prometheus-node-exporter-text-files" ];
    DevicePolicy = "closed";
    DeviceAllow = [ "/dev/zfs rw" ];
    PrivateDevices = null;
    MemoryDenyWriteExecute = null;
    UMask = "0022";
    PrivateNetwork = true;
    NoNewPrivileges = true;
  } (lib.mapAttrs (k: _: metricsUnit.serviceConfig.${k} or null) {
    ProtectSystem = 0; ReadWritePaths = 0; DevicePolicy = 0; DeviceAllow = 0; PrivateDevices = 0;
    MemoryDenyWriteExecute = 0; UMask = 0; PrivateNetwork = 0; NoNewPrivileges = 0;
  }))
  (equal "metrics: after the pool's import, not requiring its mount (the file says it is missing)" [
    true
    false
  ] [
    (lib.elem "zfs-import.target" metricsUnit.unitConfig.After)
    (metricsUnit.unitConfig ? RequiresMountsFor)
  ])
  (check "metrics: assertions hold" (lib.all (a: a.assertion) metrics.assertions) metrics.assertions)
  (equal "metrics without node_exporter: its own directory and interval, no node_exporter flags" [
    "/run/textfiles/vm-state.prom"
    "30s"
    [ ]
  ] [
    (builtins.fromJSON metricsNoNode.environment.etc."vm-state/config.json".source.json).metricsFile
    metricsNoNode.systemd.timers.vm-state-metrics.timerConfig.OnUnitActiveSec
    metricsNoNode.services.prometheus.exporters.node.extraFlags
  ])
  (equal "metrics with node_exporter's textfile collector disabled fails the assertions" [
    ("programs.vm-state.metrics needs node_exporter's textfile collector, off in "
      + "services.prometheus.exporters.node.disabledCollectors.")
  ] (map (a: a.message) (lib.filter (a: !a.assertion) metricsNoTextfile.assertions)))
]

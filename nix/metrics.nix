# Prometheus metrics (README.md, "Metrics"): a timer writes `vm-state metrics` into
# node_exporter's textfile directory, and every change vm-state makes rewrites the file
# (settings.metricsFile). Part of module.nix.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.programs.vm-state;
  node = config.services.prometheus.exporters.node;
  file = "${cfg.metrics.directory}/vm-state.prom";
  disabled = "services.prometheus.exporters.node.disabledCollectors";
in
{
  options.programs.vm-state.metrics = {
    enable = lib.mkEnableOption ''
      Prometheus metrics of the states, slots, pool and replication jobs, written for
      node_exporter's textfile collector (whose directory flag is added when
      services.prometheus.exporters.node is enabled)
    '';
    interval = mkOption {
      type = types.str;
      default = "1min";
      example = "30s";
      description = ''
        How often the timer writes the metrics (a systemd time span); every change
        vm-state makes writes them too.
      '';
    };
    directory = mkOption {
      type = types.strMatching "/.*";
      # nixpkgs sets no textfile directory of its own; NixOS's own infrastructure uses this one.
      default = "/var/lib/prometheus-node-exporter-text-files";
      description = ''
        node_exporter's textfile directory: `vm-state.prom` is written there (a temporary
        file renamed over it). Another module may read other `*.prom` files from it too.
      '';
    };
  };

  config = lib.mkIf (cfg.enable && cfg.metrics.enable) {
    assertions = [
      {
        assertion = node.enable -> !(lib.elem "textfile" node.disabledCollectors);
        message = "programs.vm-state.metrics needs node_exporter's textfile collector, off in ${disabled}.";
      }
    ];

    programs.vm-state.settings.metricsFile = file;

    systemd.tmpfiles.settings.vm-state-metrics.${cfg.metrics.directory}.d = {
      user = "root";
      group = "root";
      mode = "0755";
    };

    # The textfile collector is on by default, so only its directory is added: listing
    # "textfile" in enabledCollectors as well as a host that already does makes node_exporter
    # refuse to start ("flag 'collector.textfile' cannot be repeated"). The directory flag
    # may be given more than once (node_exporter 1.9, nixpkgs 25.05).
    services.prometheus.exporters.node.extraFlags = lib.mkIf node.enable [
      "--collector.textfile.directory=${cfg.metrics.directory}"
    ];

    systemd.services.vm-state-metrics = {
      description = "vm-state: Prometheus metrics for node_exporter's textfile collector";
      # Not RequiresMountsFor: with the pool missing the file still says so (pool_mounted 0).
      unitConfig.After = [
        "zfs-import.target"
        "zfs-mount.service"
      ];
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${lib.getExe cfg.package} metrics --output ${file}";
        # node_exporter runs as a user of its own: the file must be readable by others.
        UMask = "0022";
        # As nixpkgs' syncoid module, where a read-only run allows: root (zfs, systemctl
        # show), everything read-only but the one directory and Node's compile cache.
        ProtectSystem = "strict";
        ReadWritePaths = [ cfg.metrics.directory ];
        CacheDirectory = "vm-state";
        CacheDirectoryMode = "0700";
        ProtectHome = true;
        PrivateTmp = true;
        # zfs and systemctl talk through /dev/zfs and unix sockets only.
        PrivateNetwork = true;
        IPAddressDeny = "any";
        RestrictAddressFamilies = [ "AF_UNIX" ];
        # Not PrivateDevices, which hides /dev/zfs: the device cgroup lets it alone through.
        DevicePolicy = "closed";
        DeviceAllow = [ "/dev/zfs rw" ];
        CapabilityBoundingSet = "";
        NoNewPrivileges = true;
        ProtectClock = true;
        ProtectControlGroups = true;
        ProtectHostname = true;
        ProtectKernelLogs = true;
        ProtectKernelModules = true;
        ProtectKernelTunables = true;
        LockPersonality = true;
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        RemoveIPC = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" ];
        SystemCallErrorNumber = "EPERM";
        # No MemoryDenyWriteExecute: Node's JIT writes the code it runs.
      };
    };

    systemd.timers.vm-state-metrics = {
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnBootSec = "15s";
        OnUnitActiveSec = cfg.metrics.interval;
        # systemd's default accuracy (1min) would stretch a 1min interval to 2.
        AccuracySec = "1s";
      };
    };
  };
}

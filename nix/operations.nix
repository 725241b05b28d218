# The timers that make vm-state run itself (README.md, "Operations"): automatic
# snapshots with retention, and scheduled replication. Part of module.nix.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) literalExpression mkOption types;
  cfg = config.programs.vm-state;
  duration = types.strMatching "([0-9]+[smhdw])+";
  count = mkOption {
    type = types.ints.unsigned;
    default = 0;
    description = "How many periods of this kind keep their newest snapshot.";
  };

  policy = types.submodule {
    options = {
      latest = count // {
        default = 1;
        description = "The newest N snapshots are kept whatever their period.";
      };
      hourly = count;
      daily = count;
      weekly = count;
      monthly = count;
      yearly = count;
    };
  };

  job = types.submodule {
    options = {
      remote = mkOption {
        type = types.str;
        description = "A remote of `settings.remotes`.";
      };
      states = mkOption {
        type = types.nonEmptyListOf types.str;
        default = [ "*" ];
        description = ''States to send; `[ "*" ]`: every state of this host's own.'';
      };
      interval = mkOption {
        type = duration;
        default = "1h";
        description = "A job runs when this long has passed since its last success (or it failed).";
      };
    };
  };

  # As nixpkgs' syncoid module: root is needed (zfs, systemctl), the rest is closed.
  # Node's JIT needs writable+executable memory: no MemoryDenyWriteExecute.
  sandbox = extraWritable: {
    Type = "oneshot";
    ProtectSystem = "strict";
    ProtectHome = "read-only";
    PrivateTmp = true;
    NoNewPrivileges = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    SystemCallArchitectures = "native";
    ReadWritePaths = [
      cfg.settings.statesDir
      cfg.settings.slotsDir
      "/run"
    ]
    # Every change rewrites settings.metricsFile (metrics.nix sets it), through a temporary file
    # beside it; "-": a directory that is not there leaves the file unwritten, not the unit failed.
    ++ lib.optional (cfg.settings ? metricsFile) "-${dirOf cfg.settings.metricsFile}"
    ++ extraWritable;
  };

  # After the pool is imported and mounted: never snapshot or send an empty mountpoint.
  ordering = {
    After = [
      "zfs-import.target"
      "zfs-mount.service"
    ];
    RequiresMountsFor = [ cfg.settings.statesDir ];
  };

  timer = onCalendar: {
    wantedBy = [ "timers.target" ];
    timerConfig = {
      OnCalendar = onCalendar;
      Persistent = true;
      RandomizedDelaySec = "2min";
    };
  };
  exe = lib.getExe cfg.package;
in
{
  options.programs.vm-state = {
    autoSnapshot = {
      enable = lib.mkEnableOption "automatic snapshots of every state, pruned by retention policies";
      interval = mkOption {
        type = duration;
        default = "1h";
        description = "One snapshot per state per this period (`vm-state auto-snapshot` takes none within it).";
      };
      onCalendar = mkOption {
        type = types.str;
        default = "*:0/15";
        description = "When the timer runs `vm-state auto-snapshot`: often is cheap, a period gets one snapshot.";
      };
      policy = mkOption {
        type = types.str;
        default = "default";
        description = "The policy of every state not in `states`.";
      };
      policies = mkOption {
        type = types.attrsOf policy;
        default = {
          default = {
            hourly = 24;
            daily = 7;
            weekly = 4;
            monthly = 12;
          };
        };
        example = literalExpression "{ short = { hourly = 6; daily = 2; }; }";
        description = "Retention policies by name: counts per period, as README.md's \"Operations\" says.";
      };
      states = mkOption {
        type = types.attrsOf (types.nullOr types.str);
        default = { };
        example = literalExpression ''{ scratch = null; db = "short"; }'';
        description = "Per state: another policy, or null for no automatic snapshots.";
      };
    };

    trash.keep = mkOption {
      type = duration;
      default = "7d";
      description = ''
        How long `vm-state delete` keeps a deleted state in the trash; the auto-snapshot
        service then purges it (`vm-state trash purge --expired`).
      '';
    };

    replication = mkOption {
      type = types.attrsOf job;
      default = { };
      example = literalExpression ''{ offsite = { remote = "hv2"; interval = "15m"; }; }'';
      description = "Replication jobs: `vm-state replicate` sends each when due, on a timer.";
    };
    replicationOnCalendar = mkOption {
      type = types.str;
      default = "*:0/5";
      description = "When the timer runs `vm-state replicate` (each job still waits for its interval).";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions =
          lib.mapAttrsToList (name: j: {
            assertion = cfg.settings.remotes ? ${j.remote};
            message = ''programs.vm-state.replication.${name}.remote names no remote "${j.remote}" of settings.remotes.'';
          }) cfg.replication
          ++ lib.mapAttrsToList (state: p: {
            assertion = p == null || cfg.autoSnapshot.policies ? ${p};
            message = ''programs.vm-state.autoSnapshot.states.${state} names no policy "${p}".'';
          }) cfg.autoSnapshot.states
          ++ [
            {
              assertion = cfg.autoSnapshot.policies ? ${cfg.autoSnapshot.policy};
              message = ''programs.vm-state.autoSnapshot.policy names no policy "${cfg.autoSnapshot.policy}".'';
            }
          ];
        programs.vm-state.settings = {
          policies = cfg.autoSnapshot.policies;
          autoSnapshot = {
            inherit (cfg.autoSnapshot) interval policy states;
          };
          replication = cfg.replication;
          trash = { inherit (cfg.trash) keep; };
        };
      }
      (lib.mkIf cfg.autoSnapshot.enable {
        systemd.services.vm-state-auto-snapshot = {
          description = "vm-state: automatic snapshots and retention, and the trash's expired states";
          unitConfig = ordering;
          # In turn: a failed snapshot run leaves the purge to the next one.
          serviceConfig = sandbox [ ] // {
            ExecStart = [
              "${exe} auto-snapshot"
              "${exe} trash purge --expired --yes"
            ];
          };
        };
        systemd.timers.vm-state-auto-snapshot = timer cfg.autoSnapshot.onCalendar;
      })
      (lib.mkIf (cfg.replication != { }) {
        systemd.services.vm-state-replicate = {
          description = "vm-state: scheduled replication";
          unitConfig = ordering // {
            Wants = [ "network-online.target" ];
            After = ordering.After ++ [ "network-online.target" ];
          };
          serviceConfig = sandbox [ "/var/lib/vm-state" ] // {
            ExecStart = "${exe} replicate";
            StateDirectory = "vm-state";
          };
        };
        systemd.timers.vm-state-replicate = timer cfg.replicationOnCalendar;
      })
    ]
  );
}

# NixOS module for vm-state. The defaults reproduce the hypervisor's layout.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) literalExpression mkOption types;

  cfg = config.programs.vm-state;
  settingsFormat = pkgs.formats.json { };

  # Plain strings, not `types.path`: a Nix path here would be copied to the store.
  absolutePath = types.strMatching "/.*";

  # "microvm@%s.service" -> "microvm@", the attribute name of the template unit.
  templateUnit = lib.removeSuffix "%s.service" cfg.settings.unitTemplate;

  dirRule = {
    d = {
      user = cfg.settings.owner;
      group = cfg.settings.group;
      mode = "0755";
    };
  };
in
{
  imports = [
    ./operations.nix
    ./metrics.nix
  ];

  options.programs.vm-state = {
    enable = lib.mkEnableOption "vm-state, the manager of portable VM states (ZFS datasets) for microVM slots";

    package =
      lib.mkPackageOption pkgs "vm-state" {
        extraDescription = "The default is built against the host's ZFS userland and systemd.";
      }
      // {
        default = pkgs.vm-state.override {
          zfs = config.boot.zfs.package;
          systemd = config.systemd.package;
        };
        defaultText = literalExpression ''
          pkgs.vm-state.override {
            zfs = config.boot.zfs.package;
            systemd = config.systemd.package;
          }
        '';
      };

    settings = mkOption {
      description = ''
        Contents of {file}`/etc/vm-state/config.json`. Keys not declared here
        are passed through, but the CLI rejects keys it does not know.
      '';
      default = { };
      example = literalExpression ''
        {
          slots = [ "slot1" "slot2" ];
          lockFile = "/run/vm-state.lock";
        }
      '';
      type = types.submodule {
        freeformType = settingsFormat.type;
        options = {
          pool = mkOption {
            type = types.str;
            default = "microvms";
            description = "ZFS pool that holds the states.";
          };
          dataset = mkOption {
            type = types.str;
            default = "storage/states";
            description = "Dataset inside {option}`pool` with one child dataset per state.";
          };
          statesDir = mkOption {
            type = absolutePath;
            default = "/var/lib/microvms/states";
            description = "Mountpoint of {option}`dataset`; state `NAME` is mounted at `statesDir/NAME`.";
          };
          slotsDir = mkOption {
            type = absolutePath;
            default = "/var/lib/microvms";
            description = "Directory holding one directory per slot (microvm.nix's state directory).";
          };
          assignmentsFile = mkOption {
            type = absolutePath;
            default = "/etc/vm-state-assignments.json";
            description = "File in which the CLI records which state each slot uses. Written by the CLI, not by NixOS.";
          };
          slots = mkOption {
            type = types.nonEmptyListOf types.str;
            default = [
              "slot1"
              "slot2"
              "slot3"
              "slot4"
              "slot5"
            ];
            example = [
              "slot1"
              "slot2"
            ];
            description = "Names of the microVM slots.";
          };
          unitTemplate = mkOption {
            type = types.strMatching ".*%s.*";
            default = "microvm@%s.service";
            description = "systemd unit of a slot; `%s` is replaced by the slot name.";
          };
          owner = mkOption {
            type = types.str;
            default = "microvm";
            description = "Owner of state mountpoints and slot directories.";
          };
          group = mkOption {
            type = types.str;
            default = "kvm";
            description = "Group of state mountpoints and slot directories.";
          };
          remotes = mkOption {
            type = types.attrsOf (
              types.submodule {
                options = {
                  destination = mkOption {
                    type = types.strMatching "[A-Za-z0-9_][A-Za-z0-9_.@:%+-]*";
                    example = "root@hv2";
                    description = "What ssh is given: a host, user@host, or a Host of root's ssh_config.";
                  };
                  port = mkOption {
                    type = types.nullOr types.port;
                    default = null;
                    description = "ssh port (null: ssh_config decides).";
                  };
                  identity = mkOption {
                    type = types.nullOr types.str;
                    default = null;
                    description = "ssh key file (null: ssh_config decides).";
                  };
                  sshOptions = mkOption {
                    type = types.attrsOf types.str;
                    default = { };
                    example = literalExpression ''{ ConnectTimeout = "10"; }'';
                    description = "`ssh -o Key=Value` options.";
                  };
                };
              }
            );
            default = { };
            example = literalExpression ''{ hv2 = { destination = "root@hv2"; }; }'';
            description = ''
              Other hypervisors, by name, for `vm-state send` and `vm-state migrate <state> <remote>:<slot>`.
              Each runs vm-state too; give the sending host's key there a forced command:
              `command="vm-state serve",restrict ssh-ed25519 AAAA...` in root's authorized_keys.
            '';
          };
          mcp = {
            allowWrites = mkOption {
              type = types.bool;
              default = false;
              description = ''
                Whether `vm-state mcp` (the MCP server agents reach as `ssh -T HOST vm-state mcp`)
                offers the tools that change something; each still runs only with the token of
                the plan it returned first. Its flag `--allow-writes` does the same.
              '';
            };
            tools = mkOption {
              type = types.nullOr (types.listOf types.str);
              default = null;
              example = [ "list" "show" "snapshots" "snapshot" ];
              description = "The only tools `vm-state mcp` offers (null: every tool); `--tools` overrides it.";
            };
            planTtlSeconds = mkOption {
              type = types.ints.between 1 86400;
              default = 600;
              description = "How long a plan token of `vm-state mcp` may be used.";
            };
          };
        };
      };
    };

    startGuard.enable = mkOption {
      type = types.bool;
      default = true;
      example = false;
      description = ''
        Whether to run `vm-state preflight SLOT` as `ExecStartPre` of the slot
        template unit (derived from {option}`settings.unitTemplate`, by default
        `microvm@`), so that a slot refuses to start, e.g. when its state is in
        use by another running slot. The unit also gets
        `RequiresMountsFor=` the states directory.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.startGuard.enable -> lib.hasSuffix "@%s.service" cfg.settings.unitTemplate;
        message = ''programs.vm-state.startGuard.enable needs settings.unitTemplate of the form "NAME@%s.service" (got "${cfg.settings.unitTemplate}").'';
      }
    ];

    environment.systemPackages = [ cfg.package ];

    environment.etc."vm-state/config.json".source =
      settingsFormat.generate "vm-state-config.json" (
        cfg.settings
        // {
          # Unset options are left out, not written as null (vm-state's schema takes no null).
          remotes = lib.mapAttrs (_: lib.filterAttrs (_: v: v != null)) cfg.settings.remotes;
          mcp = lib.filterAttrs (_: v: v != null) cfg.settings.mcp;
        }
      );

    systemd.tmpfiles.settings.vm-state = {
      ${cfg.settings.statesDir} = dirRule;
    }
    // lib.genAttrs (map (slot: "${cfg.settings.slotsDir}/${slot}") cfg.settings.slots) (_: dirRule);

    # Definitions of a systemd option that are lists are concatenated, so this
    # adds to microvm.nix's own `microvm@` template instead of replacing it.
    systemd.services = lib.mkIf cfg.startGuard.enable {
      ${templateUnit} = {
        # mkBefore: refuse before microvm.nix's preStart touches the slot.
        # "+": run as root although the unit has User=microvm, so the guard
        # can query ZFS and the assignments whatever their permissions.
        serviceConfig.ExecStartPre = lib.mkBefore [ "+${lib.getExe cfg.package} preflight %i" ];
        unitConfig.RequiresMountsFor = [ cfg.settings.statesDir ];
      };
    };
  };
}

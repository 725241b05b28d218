# Stand-in declarations of the NixOS options nix/module.nix defines or reads, and
# the `pkgs` it is given, for evaluating it with nixpkgs' real lib.evalModules
# (module-check.nix, units.nix). No NixOS here: only its option shapes.
{ root }:
let
  stubs = import ./stubs.nix;
  inherit (stubs) lib drv;
  inherit (lib) mkOption types;
  root' = /. + root;

  # Merges like nixpkgs' systemd unitOption: list definitions are concatenated.
  unitOption = lib.mkOptionType {
    name = "systemd option (stand-in)";
    merge =
      loc: defs:
      if lib.any (d: builtins.isList d.value) defs then
        lib.concatMap (d: lib.toList d.value) defs
      else
        lib.mergeEqualOption loc defs;
  };
  unitSection = mkOption {
    type = types.attrsOf unitOption;
    default = { };
  };
  raw = default: mkOption { type = types.raw; inherit default; };
  list = raw [ ] // { type = types.listOf types.raw; };
  lines = mkOption {
    type = types.lines;
    default = "";
  };

  # What NixOS's systemd-unit-options.nix declares for every unit: the options a
  # module may set and a unit file is rendered from (test/e2e/nixos-units.ts).
  unitOptions = {
    enable = raw true // { type = types.bool; };
    description = raw "";
    documentation = list;
    requires = list;
    wants = list;
    after = list;
    before = list;
    bindsTo = list;
    partOf = list;
    conflicts = list;
    requisite = list;
    onFailure = list;
    wantedBy = list;
    requiredBy = list;
    unitConfig = unitSection;
  };

  hostSystemd = drv "host-systemd" { };
in
rec {
  pkgs = {
    vm-state = stubs.callPackage (root' + "/nix/package.nix") { };
    formats.json =
      { }:
      {
        type = types.attrsOf types.anything;
        generate = name: value: {
          inherit name;
          json = builtins.toJSON value;
        };
      };
    coreutils = drv "coreutils" { };
    findutils = drv "findutils" { };
    gnugrep = drv "gnugrep" { };
    gnused = drv "gnused" { };
  };

  standIns = {
    options = {
      assertions = list;
      environment.systemPackages = list;
      environment.etc = mkOption {
        type = types.attrsOf (types.submodule { options.source = raw null; });
        default = { };
      };
      boot.zfs.package = raw (drv "host-zfs" { });
      systemd.package = raw hostSystemd;
      systemd.services = mkOption {
        type = types.attrsOf (
          types.submodule {
            options = unitOptions // {
              serviceConfig = unitSection;
              environment = mkOption {
                type = types.attrsOf (types.nullOr types.str);
                default = { };
              };
              path = list;
              script = lines;
              scriptArgs = raw "" // { type = types.str; };
              preStart = lines;
              postStart = lines;
              reload = lines;
              preStop = lines;
              postStop = lines;
            };
            # NixOS's stage2ServiceConfig: every service's default PATH, after the module's.
            config.path = lib.mkAfter [
              pkgs.coreutils
              pkgs.findutils
              pkgs.gnugrep
              pkgs.gnused
              hostSystemd
            ];
          }
        );
        default = { };
      };
      systemd.timers = mkOption {
        type = types.attrsOf (types.submodule { options = unitOptions // { timerConfig = unitSection; }; });
        default = { };
      };
      systemd.tmpfiles.settings = mkOption {
        type = types.attrsOf (types.attrsOf (types.attrsOf (types.attrsOf types.str)));
        default = { };
      };
      # As nixpkgs declares them: lists concatenated, the exporter off by default.
      services.prometheus.exporters.node = {
        enable = mkOption {
          type = types.bool;
          default = false;
        };
        enabledCollectors = list // { type = types.listOf types.str; };
        disabledCollectors = list // { type = types.listOf types.str; };
        extraFlags = list // { type = types.listOf types.str; };
      };
    };
  };

  # nix/module.nix evaluated with these stand-ins and `settings` (a module).
  eval =
    modules:
    (lib.evalModules {
      modules = [
        standIns
        (root' + "/nix/module.nix")
        { _module.args.pkgs = pkgs; }
      ]
      ++ modules;
    }).config;
}

# NixOS VM test: the module on a host with a real ZFS pool and a stand-in
# for microvm.nix's `microvm@` template. `pkgs` must carry our overlay.
{ pkgs }:
pkgs.testers.runNixOSTest {
  name = "vm-state";

  nodes.machine =
    { pkgs, ... }:
    {
      imports = [ ./module.nix ];
      programs.vm-state.enable = true;
      programs.vm-state.autoSnapshot = {
        enable = true;
        policies.default = {
          latest = 2;
        };
      };
      programs.vm-state.metrics.enable = true;
      services.prometheus.exporters.node.enable = true;
      environment.systemPackages = [ pkgs.curl ];

      boot.supportedFilesystems = [ "zfs" ];
      networking.hostId = "deadbeef";
      virtualisation.emptyDiskImages = [ 1024 ];
      virtualisation.memorySize = 2048;

      users.groups.kvm = { };
      users.users.microvm = {
        isSystemUser = true;
        group = "kvm";
      };

      # Like microvm.nix's template (same User/Group), but runs until stopped.
      # No Restart=, so a refused start stays refused during the test.
      systemd.services."microvm@" = {
        description = "MicroVM '%i' (test stand-in)";
        serviceConfig = {
          ExecStart = "${pkgs.coreutils}/bin/sleep infinity";
          User = "microvm";
          Group = "kvm";
        };
      };
    };

  # The metrics file is read with Prometheus' own Python client's parser.
  extraPythonPackages = p: [ p.prometheus-client ];

  testScript = ''
    import json

    states = "microvms/storage/states"

    machine.wait_for_unit("multi-user.target")

    with subtest("module output"):
        cfg = json.loads(machine.succeed("cat /etc/vm-state/config.json"))
        assert cfg["pool"] == "microvms" and cfg["slots"][0] == "slot1", cfg
        machine.succeed("stat -c %U:%G /var/lib/microvms/slot1 | grep -Fx microvm:kvm")
        machine.succeed("systemctl cat microvm@slot1.service | grep -F 'ExecStartPre=+' | grep -F 'preflight %i'")
        machine.succeed("systemctl show -p RequiresMountsFor microvm@slot1.service | grep -F /var/lib/microvms/states")

    with subtest("pool with the hypervisor's layout"):
        machine.succeed(
            "zpool create microvms /dev/vdb",
            "zfs create microvms/storage",
            f"zfs create -o mountpoint=/var/lib/microvms/states {states}",
        )

    with subtest("help and list"):
        machine.succeed("vm-state help", "vm-state --help", "vm-state --version")
        assert "States and assignments" in machine.succeed("vm-state list")
        data = json.loads(machine.succeed("vm-state list --json"))
        assert isinstance(data.get("slots"), list), data

    with subtest("dry run changes nothing"):
        machine.succeed("vm-state --dry-run create x")
        machine.fail(f"zfs list {states}/x")

    with subtest("create, assign, snapshot, clone, restore"):
        machine.succeed("vm-state create test-state", f"zfs list {states}/test-state")
        machine.succeed("vm-state assign slot1 test-state", "test -L /var/lib/microvms/slot1/data.img")
        machine.succeed("vm-state snapshot slot1 snap1", f"zfs list -t snapshot {states}/test-state@snap1")
        machine.succeed("vm-state clone test-state cloned-state")
        machine.succeed("vm-state restore snap1 restored-state")

    with subtest("start and migrate"):
        machine.succeed("systemctl start microvm@slot1.service")
        machine.succeed("vm-state migrate cloned-state slot2")
        machine.succeed("systemctl is-active microvm@slot2.service", "test -L /var/lib/microvms/slot2/data.img")

    with subtest("delete refuses an assigned state"):
        machine.fail("echo DELETE | vm-state delete cloned-state")
        machine.succeed(f"zfs list {states}/cloned-state")

    with subtest("start guard refuses a state in use by a running slot"):
        machine.succeed("systemctl stop microvm@slot2.service", "vm-state assign slot2 test-state")
        machine.succeed("systemctl is-active microvm@slot1.service")
        machine.fail("systemctl start microvm@slot2.service")
        machine.fail("systemctl is-active microvm@slot2.service")

    with subtest("delete"):
        machine.succeed("echo DELETE | vm-state delete cloned-state")
        machine.fail(f"zfs list {states}/cloned-state")
        machine.succeed("echo DELETE | vm-state delete restored-state")
        machine.fail(f"zfs list {states}/restored-state")

    with subtest("the auto-snapshot timer is scheduled, and its service snapshots every state"):
        timers = machine.succeed("systemctl list-timers --all --no-legend vm-state-auto-snapshot.timer")
        assert "vm-state-auto-snapshot.timer" in timers, timers
        machine.succeed("systemctl start vm-state-auto-snapshot.service")
        machine.succeed(f"zfs list -H -t snapshot -o name {states}/test-state | grep -q '@auto-'")
        # A second run in the same period takes no second snapshot.
        before = machine.succeed(f"zfs list -H -t snapshot -o name -r {states} | grep -c '@auto-'")
        machine.succeed("systemctl start vm-state-auto-snapshot.service")
        after = machine.succeed(f"zfs list -H -t snapshot -o name -r {states} | grep -c '@auto-'")
        assert before == after, (before, after)

    with subtest("metrics: the timer writes a file that parses, a change rewrites it, node_exporter serves it"):
        from prometheus_client.parser import text_string_to_metric_families

        prom = "/var/lib/prometheus-node-exporter-text-files/vm-state.prom"

        def samples():
            text = machine.succeed(f"cat {prom}")
            found: dict = {}
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    found[(s.name, tuple(sorted(s.labels.items())))] = s.value
            return found

        timers = machine.succeed("systemctl list-timers --all --no-legend vm-state-metrics.timer")
        assert "vm-state-metrics.timer" in timers, timers
        assert json.loads(machine.succeed("cat /etc/vm-state/config.json"))["metricsFile"] == prom
        # Gone, then back by the timer alone (every minute).
        machine.succeed(f"rm -f {prom}")
        machine.wait_until_succeeds(f"test -s {prom}", timeout=180)
        machine.succeed(f"stat -c %a {prom} | grep -Fx 644")
        s = samples()
        snaps = machine.succeed(f"zfs list -H -t snapshot -o name -r {states}/test-state | wc -l")
        assert s[("vm_state_snapshots", (("state", "test-state"),))] == int(snaps), s
        # ZFS's free space moves as transaction groups settle: equal within a MiB.
        free = int(machine.succeed(f"zfs get -Hp -o value available {states}"))
        assert abs(s[("vm_state_pool_available_bytes", (("dataset", states),))] - free) < 2**20, s
        assert s[("vm_state_pool_mounted", (("dataset", states),))] == 1, s
        assert s[("vm_state_slot_running", (("slot", "slot1"),))] == 1, s
        assert s[("vm_state_slot_running", (("slot", "slot2"),))] == 0, s

        # A change rewrites it at once, not at the next timer.
        machine.succeed("vm-state create metrics-probe")
        assert samples()[("vm_state_mounted", (("state", "metrics-probe"),))] == 1

        machine.wait_for_unit("prometheus-node-exporter.service")
        machine.wait_for_open_port(9100)
        scraped = machine.succeed("curl -sf http://127.0.0.1:9100/metrics")
        assert 'vm_state_mounted{state="metrics-probe"} 1' in scraped, scraped
        assert "node_textfile_scrape_error 0" in scraped, scraped
  '';
}

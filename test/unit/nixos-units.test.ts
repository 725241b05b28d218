// test/e2e/nixos-units.ts, the renderer of the module's units for the lab: the text NixOS's
// systemd-lib would write for the same options (lists, booleans, Environment=, PATH, scripts,
// [Install]), and a refusal of what it does not know rather than a unit unlike NixOS's.
import { describe, expect, it } from 'vitest';
import {
  attrsToSection,
  PACKAGE_DIR,
  renderUnits,
  type ServiceDef,
  type TimerDef,
  type UnitsExport,
} from '../e2e/nixos-units.js';

const PKG = '/stub/vm-state-0.1.0';
const unit = {
  enable: true,
  description: '',
  documentation: [],
  requires: [],
  wants: [],
  after: [],
  before: [],
  bindsTo: [],
  partOf: [],
  conflicts: [],
  requisite: [],
  onFailure: [],
  wantedBy: [],
  requiredBy: [],
  unitConfig: {},
};
const service = (over: Partial<ServiceDef>): ServiceDef => ({
  ...unit,
  serviceConfig: {},
  environment: {},
  path: [],
  script: '',
  scriptArgs: '',
  preStart: '',
  postStart: '',
  reload: '',
  preStop: '',
  postStop: '',
  ...over,
});
const exported = (services: Record<string, ServiceDef>, timers: Record<string, TimerDef> = {}) =>
  ({
    services,
    timers,
    configJson: '{}',
    tmpfiles: {},
    package: {
      out: PKG,
      exe: `${PKG}/bin/vm-state`,
      binPath: '/run/booted-system/sw/bin:/stub/host-zfs/bin',
      node: '/stub/nodejs-22.14.0/bin/node',
    },
  }) satisfies UnitsExport;
const fileAt = (units: UnitsExport, path: string) => {
  const f = renderUnits(units).find((x) => x.path === path);
  if (!f) throw new Error(`no ${path}`);
  return f;
};
const textAt = (units: UnitsExport, path: string) => {
  const f = fileAt(units, path);
  if (!('text' in f)) throw new Error(`${path} is a link`);
  return f.text;
};

describe('the renderer of NixOS units', () => {
  it("attrsToSection: sorted keys, a list as repeated lines, booleans as true/false, Nix's toString", () => {
    expect(attrsToSection({ b: [1, 'x y'], a: true, c: false, d: null, e: [['p', 'q']] })).toBe(
      'a=true\nb=1\nb=x y\nc=false\nd=\ne=p q\n',
    );
  });

  it('a service: [Unit] from the top-level lists, Environment= JSON-quoted, PATH from path', () => {
    const text = textAt(
      exported({
        s: service({
          description: 'd',
          after: ['a.target', 'b.service'],
          unitConfig: { RequiresMountsFor: ['/x'] },
          environment: { Z: 'say "hi"', A: null },
          path: ['/stub/coreutils', '/stub/gnused'],
          serviceConfig: { ExecStart: `${PKG}/bin/vm-state list`, PrivateTmp: true },
        }),
      }),
      '/etc/systemd/system/s.service',
    );
    expect(text).toBe(
      [
        '[Unit]',
        'After=a.target b.service',
        'Description=d',
        'RequiresMountsFor=/x',
        '',
        '[Service]',
        'Environment="PATH=/usr/bin:/usr/bin:/usr/sbin:/usr/sbin"',
        'Environment="Z=say \\"hi\\""',
        `ExecStart=${PACKAGE_DIR}/bin/vm-state list`,
        'PrivateTmp=true',
        '',
      ].join('\n'),
    );
  });

  it('script and preStart become scripts ExecStart= and ExecStartPre= run, with set -e', () => {
    const units = exported({
      's@': service({
        script: 'echo hi',
        scriptArgs: '%i',
        preStart: 'echo pre',
        serviceConfig: { ExecStartPre: ['/bin/true'] },
      }),
    });
    const text = textAt(units, '/etc/systemd/system/s@.service');
    const dir = `${PACKAGE_DIR}/unit-scripts`;
    expect(text).toContain(`ExecStart=${dir}/unit-script-s_-start %i\n`);
    expect(text).toContain(`ExecStartPre=/bin/true\nExecStartPre=${dir}/unit-script-s_-pre-start\n`);
    expect(fileAt(units, `${dir}/unit-script-s_-start`)).toEqual({
      path: `${dir}/unit-script-s_-start`,
      text: '#!/bin/bash\nset -e\n\necho hi',
      mode: '0755',
    });
  });

  it('a timer: its section, [Install] WantedBy=, and the .wants link NixOS makes instead of enabling', () => {
    const timer: TimerDef = { ...unit, wantedBy: ['timers.target'], timerConfig: { OnCalendar: '*:0/5' } };
    const units = exported({}, { t: timer });
    expect(textAt(units, '/etc/systemd/system/t.timer')).toBe(
      '[Unit]\n\n[Timer]\nOnCalendar=*:0/5\n\n\n[Install]\nWantedBy=timers.target\n',
    );
    expect(fileAt(units, '/etc/systemd/system/timers.target.wants/t.timer')).toEqual({
      path: '/etc/systemd/system/timers.target.wants/t.timer',
      link: '../t.timer',
    });
  });

  it("the package: makeWrapper's wrapper around the lab's checkout, with the lab's programs", () => {
    const units = exported({});
    expect(textAt(units, `${PACKAGE_DIR}/bin/vm-state`)).toContain(
      `PATH="/run/booted-system/sw/bin:/usr/bin"\${PATH:+':'$PATH}\nexport PATH\nunset NODE_COMPILE_CACHE\n` +
        `exec -a "$0" "/usr/local/bin/node" "${PACKAGE_DIR}/lib/vm-state/bin/vm-state" "$@"\n`,
    );
    expect(fileAt(units, `${PACKAGE_DIR}/lib/vm-state`)).toEqual({
      path: `${PACKAGE_DIR}/lib/vm-state`,
      link: '/opt/vm-state',
    });
  });

  it('refuses what NixOS would refuse or what it cannot place', () => {
    const both = service({ after: ['a.target'], unitConfig: { After: ['b.target'] } });
    expect(() => renderUnits(exported({ s: both }))).toThrow(/NixOS would refuse to merge/);
    const pathTwice = service({ path: ['/stub/coreutils'], environment: { PATH: '/bin' } });
    expect(() => renderUnits(exported({ s: pathTwice }))).toThrow(/environment.PATH and path/);
    const unknown = service({ serviceConfig: { ExecStart: '/stub/curl-8/bin/curl' } });
    expect(() => renderUnits(exported({ s: unknown }))).toThrow(/no lab program stands for \/stub\/curl-8/);
  });
});

// The units nix/module.nix defines (as nix/checks/units.nix exports them) rendered into the files
// NixOS would install, for the lab's systemd (test/e2e/timers.test.ts). The rendering follows
// nixpkgs' nixos/lib/systemd-lib.nix and systemd-unit-options.nix:
// - attrsToSection: one `Key=value` line per key, keys in Nix's (sorted) order, a list as one
//   line per element; true/false as `true`/`false`, anything else as Nix's toString;
// - [Unit] gets Description= and the top-level lists (after, wants, requires, ...) joined by
//   spaces, as the unitConfig module does; [Service] gets one `Environment="NAME=value"` line per
//   variable (JSON-quoted, by name), PATH from `path` (`<p>/bin` for each, then `<p>/sbin`),
//   then serviceConfig; `script` (and preStart, ...) become scripts ExecStart= (...) runs;
// - [Install] WantedBy= (space-joined), and what NixOS makes of it instead of `systemctl
//   enable`: a `<target>.wants/<unit>` link beside the unit;
// - systemd.tmpfiles.settings.<name> as /etc/tmpfiles.d/<name>.conf, and the config file.
// Store paths (the stand-ins' /stub/<name>) become the lab's programs. Not as on NixOS, and why
// that does not weaken the proof (what runs, under which sandbox, is the same):
// - units are plain files in /etc/systemd/system, not links into /nix/store (systemd reads the
//   same text either way); the `.wants` link is made there too;
// - the package is a directory of the lab's own: bin/vm-state is the wrapper nix/package.nix's
//   makeWrapper writes (PATH prefixed with the package's binPath, NODE_COMPILE_CACHE unset,
//   `exec node <launcher>`), lib/vm-state links the checkout the lab runs (/opt/vm-state);
// - Debian's /usr stands for coreutils, findutils, grep, sed, systemd, zfs and util-linux, and
//   /usr/local for Node (lab/README.md): the PATH has the same programs, from other places (zfs
//   is in Debian's /usr/sbin, so found through the unit's PATH, the `sbin` half NixOS adds from
//   `path`, where NixOS finds it through the wrapper's: the same program runs either way); the
//   wrapper's first entry, /run/booted-system/sw/bin, is not in the lab: replicate's ssh, which
//   no package here brings, comes from the booted system's packages on NixOS, from /usr/bin here;
// - systemd.globalEnvironment (LOCALE_ARCHIVE, TZDIR from other NixOS modules) is not
//   rendered: none of our units' settings, and vm-state reads neither (UTC times);
// - X-Restart-Triggers and the like, which only nixos-rebuild reads, are not made: our module
//   sets none;
// - the lab's systemd is Debian 12's 252, NixOS 25.05's is 257: every setting used is older
//   than 252 (systemd.exec(5)), and one it did not know would be a warning of systemd-analyze
//   verify, which the test runs, and missing from systemctl show, which the test compares.

/** One unit's options, as units.nix exports them (NixOS's option names). */
interface UnitDef {
  enable: boolean;
  description: string;
  documentation: string[];
  requires: string[];
  wants: string[];
  after: string[];
  before: string[];
  bindsTo: string[];
  partOf: string[];
  conflicts: string[];
  requisite: string[];
  onFailure: string[];
  wantedBy: string[];
  requiredBy: string[];
  unitConfig: Section;
}
type Value = string | number | boolean | null | Value[];
type Section = Record<string, Value>;

export interface ServiceDef extends UnitDef {
  serviceConfig: Section;
  environment: Record<string, string | null>;
  path: string[];
  script: string;
  scriptArgs: string;
  preStart: string;
  postStart: string;
  reload: string;
  preStop: string;
  postStop: string;
}
export interface TimerDef extends UnitDef {
  timerConfig: Section;
}
type TmpfilesEntry = Partial<Record<'mode' | 'user' | 'group' | 'age' | 'argument', string>>;

/** What nix/checks/units.nix prints. */
export interface UnitsExport {
  services: Record<string, ServiceDef>;
  timers: Record<string, TimerDef>;
  configJson: string;
  tmpfiles: Record<string, Record<string, Record<string, TmpfilesEntry>>>;
  package: { out: string; exe: string; binPath: string; node: string };
}

/** A file to put in the lab: its text (and mode), or a symbolic link. */
export type LabFile = { path: string; text: string; mode: string } | { path: string; link: string };

/** Where the lab's stand-in of the package lives (made by the test, removed after it). */
export const PACKAGE_DIR = '/usr/local/libexec/vm-state-nix';
export const UNIT_DIR = '/etc/systemd/system';

/** The lab's place for each stand-in package but ours, by /stub/ name. */
function labPrefix(name: string): string {
  if (/^nodejs-/.test(name)) return '/usr/local';
  const debian = ['coreutils', 'findutils', 'gnugrep', 'gnused', 'systemd', 'zfs', 'util-linux-bin'];
  if (debian.includes(name.replace(/^host-/, ''))) return '/usr';
  throw new Error(`no lab program stands for /stub/${name}: add it to test/e2e/nixos-units.ts`);
}

/** Every stand-in store path in `text` replaced by the lab's; one left unknown is an error. */
function toLab(text: string, pkg: string): string {
  return text
    .split(pkg)
    .join(PACKAGE_DIR)
    .replace(/\/stub\/([^/\s"':]+)/g, (_, name: string) => labPrefix(name));
}

/** nixpkgs' systemd-lib toOption, and toString for what a list holds. */
function toOption(v: Value): string {
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (v === null) return '';
  if (Array.isArray(v)) return v.map(toOption).join(' ');
  return String(v);
}

/** nixpkgs' systemd-lib attrsToSection. */
export function attrsToSection(section: Section): string {
  return Object.keys(section)
    .sort()
    .flatMap((k) => {
      const v = section[k]!;
      return (Array.isArray(v) ? v : [v]).map((x) => `${k}=${toOption(x)}\n`);
    })
    .join('');
}

/** Adds `key` as NixOS's unit modules do; a key the module set itself too would not merge there. */
function define(section: Section, key: string, value: Value, why: string): void {
  if (key in section && section[key] !== value)
    throw new Error(`${key} set both in the section and by ${why}: NixOS would refuse to merge them`);
  section[key] = value;
}

/** The [Unit] section NixOS makes: unitConfig plus the top-level options (systemd-lib's unitConfig). */
function unitSection(def: UnitDef): Section {
  const s: Section = { ...def.unitConfig };
  const lists: [keyof UnitDef, string][] = [
    ['requires', 'Requires'],
    ['wants', 'Wants'],
    ['after', 'After'],
    ['before', 'Before'],
    ['bindsTo', 'BindsTo'],
    ['partOf', 'PartOf'],
    ['conflicts', 'Conflicts'],
    ['requisite', 'Requisite'],
    ['documentation', 'Documentation'],
    ['onFailure', 'OnFailure'],
  ];
  for (const [option, key] of lists) {
    const v = def[option] as string[];
    if (v.length) define(s, key, v.join(' '), option);
  }
  if (def.description !== '') define(s, 'Description', def.description, 'description');
  return s;
}

/** systemd-lib's commonUnitText: [Unit], the type's own section, [Install]. */
function unitText(def: UnitDef, lines: string): string {
  const install = def.wantedBy.length ? `\n[Install]\nWantedBy=${def.wantedBy.join(' ')}\n` : '';
  return `[Unit]\n${attrsToSection(unitSection(def))}\n${lines}${install}`;
}

/** The shell options NixOS's makeJobScript (writeShellScriptBin) puts before a script's text. */
const jobScript = (text: string) => `#!/bin/bash\nset -e\n\n${text}`;

/** A service's [Service] section, and the job scripts it runs (NixOS's serviceOptions, serviceToUnit). */
function serviceText(name: string, def: ServiceDef, scriptDir: string): { text: string; scripts: LabFile[] } {
  const config: Section = { ...def.serviceConfig };
  const scripts: LabFile[] = [];
  const jobs: [keyof ServiceDef, string, string, boolean][] = [
    ['preStart', 'pre-start', 'ExecStartPre', true],
    ['script', 'start', 'ExecStart', false],
    ['postStart', 'post-start', 'ExecStartPost', true],
    ['reload', 'reload', 'ExecReload', false],
    ['preStop', 'pre-stop', 'ExecStop', false],
    ['postStop', 'post-stop', 'ExecStopPost', false],
  ];
  for (const [option, suffix, key, isList] of jobs) {
    const text = def[option] as string;
    if (text === '') continue;
    const script = name.replace(/[\\@]/g, (c) => (c === '@' ? '_' : '-'));
    const path = `${scriptDir}/unit-script-${script}-${suffix}`;
    scripts.push({ path, text: jobScript(text), mode: '0755' });
    if (isList) config[key] = [...((config[key] as Value[] | undefined) ?? []), path];
    else define(config, key, option === 'script' ? `${path} ${def.scriptArgs}` : path, option);
  }
  const env: Record<string, string | null> = { ...def.environment };
  if (def.path.length) {
    if ('PATH' in env) throw new Error(`${name}: environment.PATH and path both set`);
    env.PATH = [...def.path.map((p) => `${p}/bin`), ...def.path.map((p) => `${p}/sbin`)].join(':');
  }
  const environment = Object.keys(env)
    .sort()
    .filter((k) => env[k] !== null)
    .map((k) => `Environment=${JSON.stringify(`${k}=${env[k]}`)}\n`)
    .join('');
  return { text: unitText(def, `[Service]\n${environment}${attrsToSection(config)}`), scripts };
}

/** systemd.tmpfiles.settings.<name>: one rule a line, `-` for what is not set (NixOS's tmpfiles.nix). */
function tmpfilesText(rules: Record<string, Record<string, TmpfilesEntry>>): string {
  return Object.keys(rules)
    .sort()
    .flatMap((path) =>
      Object.entries(rules[path]!).map(([type, e]) => {
        const f = (k: keyof TmpfilesEntry) => e[k] ?? '-';
        return `${type} "${path}" ${f('mode')} ${f('user')} ${f('group')} ${f('age')} ${e.argument ?? ''}\n`;
      }),
    )
    .join('');
}

/** The lab's stand-in of the package: the wrapper nix/package.nix makes, around the lab's checkout. */
function packageFiles(pkg: UnitsExport['package']): LabFile[] {
  const wrapper = [
    '#!/bin/bash -e',
    '# As makeWrapper writes it for nix/package.nix (--add-flags, --unset, --prefix PATH).',
    `PATH=${JSON.stringify(pkg.binPath)}\${PATH:+':'$PATH}`,
    'export PATH',
    'unset NODE_COMPILE_CACHE',
    `exec -a "$0" ${JSON.stringify(pkg.node)} ${JSON.stringify(`${pkg.out}/lib/vm-state/bin/vm-state`)} "$@"`,
    '',
  ].join('\n');
  if (pkg.exe !== `${pkg.out}/bin/vm-state`) throw new Error(`the package's program moved: ${pkg.exe}`);
  return [
    { path: `${pkg.out}/bin/vm-state`, text: wrapper, mode: '0755' },
    { path: `${pkg.out}/lib/vm-state`, link: '/opt/vm-state' },
  ];
}

/** Every file NixOS would make of the export, with the lab's programs for the store paths. */
export function renderUnits(units: UnitsExport): LabFile[] {
  const files: LabFile[] = [];
  const add = (f: LabFile) => files.push(f);
  const wants = (unit: string, def: UnitDef) => {
    if (def.requiredBy.length) throw new Error(`${unit}: requiredBy is not rendered`);
    for (const target of def.wantedBy)
      add({ path: `${UNIT_DIR}/${target}.wants/${unit}`, link: `../${unit}` });
  };
  for (const [name, def] of Object.entries(units.services)) {
    if (!def.enable) throw new Error(`${name}.service: a disabled unit is not rendered`);
    const { text, scripts } = serviceText(name, def, `${units.package.out}/unit-scripts`);
    add({ path: `${UNIT_DIR}/${name}.service`, text, mode: '0644' });
    scripts.forEach(add);
    wants(`${name}.service`, def);
  }
  for (const [name, def] of Object.entries(units.timers)) {
    if (!def.enable) throw new Error(`${name}.timer: a disabled unit is not rendered`);
    add({
      path: `${UNIT_DIR}/${name}.timer`,
      text: unitText(def, `[Timer]\n${attrsToSection(def.timerConfig)}\n`),
      mode: '0644',
    });
    wants(`${name}.timer`, def);
  }
  add({ path: '/etc/vm-state/config.json', text: units.configJson, mode: '0644' });
  for (const [name, rules] of Object.entries(units.tmpfiles))
    add({ path: `/etc/tmpfiles.d/${name}.conf`, text: tmpfilesText(rules), mode: '0644' });
  packageFiles(units.package).forEach(add);
  const pkg = units.package.out;
  return files.map((f) =>
    'text' in f
      ? { ...f, path: toLab(f.path, pkg), text: toLab(f.text, pkg) }
      : { ...f, path: toLab(f.path, pkg), link: toLab(f.link, pkg) },
  );
}

import type { Config } from '../schemas/config.js';
import { imageProblem, isRunning, runningOn, type Facts } from '../core/facts.js';
import { diskLinkOf, fullCopyHelperName, misplacement, stateImageOf } from '../core/layout.js';
import type { Plan, Step } from '../core/plan.js';
import { mountStep } from '../core/steps.js';
import type { ActionSpec } from './spec.js';

/** What doctor knows about the assignments file before the facts are read. */
export interface AssignmentsHealth {
  /** Why the file could not be read, when it could not. */
  broken?: string;
  /** Where the assignments used instead came from. */
  recoveredFrom?: 'backup' | 'links' | 'links and backup';
  /** Temporary files of runs that were killed mid-write. */
  leftovers?: string[];
}

export interface Diagnosis {
  findings: string[];
  /** The repair, as an ordinary plan (empty steps: nothing to repair automatically). */
  plan: Plan;
}

/**
 * Checks what can drift on a hypervisor: a broken assignments file, slot links
 * that do not point at the assigned state's image (or a regular file in their
 * place), states not mounted, a rename or adopt that did not finish, a state
 * run by two slots at once. The repair is a plan like any other command's; what
 * only the operator can decide is reported with the commands to run.
 */
export function diagnose(facts: Facts, c: Config, health: AssignmentsHealth): Diagnosis {
  const findings: string[] = [];
  const steps: Step[] = [];

  if (health.broken) {
    findings.push(
      `${health.broken}; recovered the assignments from ${health.recoveredFrom === 'backup' ? `${c.assignmentsFile}.bak` : health.recoveredFrom === 'links' ? 'the slot links' : `the slot links and ${c.assignmentsFile}.bak`}: ${JSON.stringify(facts.assignments)}`,
    );
    steps.push({ kind: 'write-assignments', file: c.assignmentsFile, assignments: facts.assignments });
  }

  // Half-renamed or half-adopted states: reported, never relinked or mounted by a repair.
  const misplaced = new Set<string>();
  for (const s of facts.states.values()) {
    const why = misplacement(c, s);
    if (why) (misplaced.add(s.name), findings.push(why));
    // A `clone --full` that was killed leaves its helper snapshot. Only reported: an operator may have chosen that name.
    for (const snap of s.snapshots) {
      if (snap.name.startsWith(fullCopyHelperName('')) && snap.clones.length === 0) {
        findings.push(
          `Snapshot ${s.name}@${snap.name} looks left by a clone --full that did not finish; unless a copy is running, delete it with: vm-state snapshot delete ${s.name}@${snap.name}`,
        );
      }
    }
  }

  for (const slot of facts.slots) {
    const state = facts.states.get(slot.state);
    const want = stateImageOf(c, slot.state, state);
    if (!state) {
      // An unused slot without a state of its own name is normal; an explicit or running one is not.
      if (slot.explicit || isRunning(slot.unit))
        findings.push(
          `${slot.name} is assigned state '${slot.state}', which does not exist (vm-state assign ${slot.name} <state>)`,
        );
      continue;
    }
    if (misplaced.has(state.name)) continue;
    if (state.kind === 'dataset' && !state.mounted) {
      findings.push(`State '${state.name}' (${state.dataset}) is not mounted`);
      // Best effort: one state that will not mount must not keep the others' repairs from happening.
      steps.push(mountStep(state.dataset, { tidy: true }));
    }
    if (slot.link.kind === 'file') {
      // A real image someone put there: reported, never touched by a repair.
      findings.push(
        `${diskLinkOf(c, slot.name)} is a regular file, not a link to state '${slot.state}' (${want}): the VM boots from that file ` +
          `while snapshots and rollbacks act on the state. Keep the file (as data.img.backup) and link the state with: vm-state assign ${slot.name} ${slot.state}`,
      );
      continue;
    }
    const image = imageProblem(slot.link);
    if (image)
      findings.push(
        `${slot.name}'s disk ${image}: two slots can end up on one image this way. Put the image itself there`,
      );
    if (slot.link.target !== want && (slot.explicit || slot.link.kind === 'symlink')) {
      findings.push(
        `${diskLinkOf(c, slot.name)} ${slot.link.kind === 'missing' ? 'is missing' : `points at ${slot.link.target}`}; ${slot.name} is assigned '${slot.state}' (${want})`,
      );
      steps.push({ kind: 'link', path: diskLinkOf(c, slot.name), target: want });
    }
  }

  for (const path of health.leftovers ?? []) {
    findings.push(`${path} was left by an interrupted run`);
    steps.push({ kind: 'remove-file', path });
  }

  const reported = new Set<string>();
  for (const slot of facts.slots) {
    const running = runningOn(facts, slot.state);
    if (running.length > 1 && !reported.has(slot.state)) {
      reported.add(slot.state);
      findings.push(
        `State '${slot.state}' is RUNNING on ${running.map((s) => s.name).join(' and ')}: stop all but one now (two VMs on one image corrupt it)`,
      );
    }
  }

  return {
    findings,
    plan: {
      summary: 'Repair what doctor found',
      steps,
      warnings: [],
      notes: steps.length ? ['Repaired'] : ['Nothing to repair'],
    },
  };
}

export const doctor: ActionSpec = {
  kind: 'action',
  name: 'doctor',
  args: [],
  options: [
    {
      flags: '--repair',
      description:
        'repair what was found (as root; the assignments file comes back from its backup or the links)',
    },
  ],
  description: 'check the assignments file, slot links, mounts and shared states; --repair fixes what it can',
  readme: [
    {
      usage: '`vm-state doctor [--repair]`',
      text:
        "checks the assignments file, slot links (and a regular file in a link's place, a state image that is a link " +
        'or a directory), mounts, a rename or adopt that did not finish, a state running on two slots; `--repair` ' +
        'fixes what it can (a broken assignments file comes back from the slot links, and from `.bak` only for a ' +
        'slot with no link; the broken one is kept as `.broken`) and says what only the operator can decide, with ' +
        'the commands',
    },
  ],
  run: async (ctx, input) => (await import('../cli/actions.js')).doctor(ctx(), Boolean(input.repair)),
};

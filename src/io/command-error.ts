import { VmStateError, type ErrorCode } from '../core/errors.js';
import type { RunResult } from './runner.js';

/** What went wrong with an external command, read from its message. */
export type FailureClass = 'not-found' | 'exists' | 'busy' | 'has-dependents' | 'permission' | 'other';

export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stderr: string;
  readonly failure: FailureClass;

  constructor(argv: readonly string[], result: RunResult) {
    const reason = firstLine(result.stderr) || firstLine(result.stdout) || `exit code ${result.exitCode}`;
    super(`${argv.join(' ')}: ${reason}`);
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = result.exitCode;
    this.stderr = result.stderr;
    this.failure = classify(result.stderr || result.stdout);
  }
}

const firstLine = (s: string) => s.trim().split('\n')[0]?.trim() ?? '';

const PATTERNS: [FailureClass, RegExp][] = [
  [
    'permission',
    /permission denied|must be (?:superuser|root)|operation not permitted|access denied|authentication required/i,
  ],
  ['busy', /\bis busy\b|device or resource busy|pool or dataset is busy/i],
  [
    'has-dependents',
    /dependent clones|has children|has dependent|more recent snapshots|clones of previous snapshots/i,
  ],
  ['exists', /already exists|destination '[^']*' exists/i],
  ['not-found', /does not exist|could not find|not found|no such (?:pool|dataset|file)|unit \S+ not loaded/i],
];

export function classify(message: string): FailureClass {
  return PATTERNS.find(([, re]) => re.test(message))?.[0] ?? 'other';
}

const CODE_FOR: Record<FailureClass, ErrorCode> = {
  'not-found': 'not-found',
  exists: 'exists',
  busy: 'busy',
  'has-dependents': 'conflict',
  permission: 'permission',
  other: 'failed',
};

/** The error an operator sees for a failed command. */
export function errorCodeOf(e: CommandError): ErrorCode {
  return CODE_FOR[e.failure];
}

export const toVmStateError = (e: CommandError) => new VmStateError(errorCodeOf(e), e.message, { cause: e });

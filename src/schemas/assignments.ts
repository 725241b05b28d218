import { z } from 'zod';
import { MAX_EXISTING, nameProblem } from './names.js';

/** The assignments file: `{"slot1": "dev-env"}`. Slots absent from it run the state of their own name. */
export const AssignmentsSchema = z.record(
  z
    .string()
    .refine((s) => nameProblem(s, MAX_EXISTING) === undefined, { message: 'is not a valid slot name' }),
  z
    .string()
    .refine((s) => nameProblem(s, MAX_EXISTING) === undefined, { message: 'is not a valid state name' }),
);

export type Assignments = z.infer<typeof AssignmentsSchema>;

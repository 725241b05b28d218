import { viewShow, viewSnapshots } from '../core/plans/show.js';
import { readImage } from '../io/image.js';
import { System } from '../io/system.js';
import { ShowOut, SnapshotsOut } from '../schemas/output.js';
import type { Context } from './context.js';
import { renderShow, renderSnapshots } from './render-lifecycle.js';

/** The read-only lifecycle commands: read the facts, build the view, print it. */

export async function snapshots(ctx: Context, state: string | undefined): Promise<void> {
  const view = viewSnapshots(ctx.config, state);
  const doc = SnapshotsOut.parse(view(await new System(ctx.runner, ctx.config).facts()));
  if (ctx.out.json) ctx.out.document(SnapshotsOut, doc);
  else renderSnapshots(ctx.out, doc);
}

export async function show(ctx: Context, name: string): Promise<void> {
  const view = viewShow(ctx.config, name);
  const doc = ShowOut.parse(view(await new System(ctx.runner, ctx.config).facts(), readImage));
  if (ctx.out.json) ctx.out.document(ShowOut, doc);
  else renderShow(ctx.out, doc);
}

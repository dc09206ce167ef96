import { Job, Queue, QueueEvents, UnrecoverableError } from 'bullmq';

/** The child's result once it completed; its own failure (for good) when it failed. */
export async function childFinished<O>(child: Job, events: QueueEvents, queue: Queue): Promise<O> {
  try {
    return (await child.waitUntilFinished(events)) as O;
  } catch (err) {
    const failed = await queue.getJob(child.id!);
    const reason = failed?.failedReason || (err as Error).message;
    const message = `${queue.name} job ${child.id} (${child.name}) failed: ${reason}`;
    // A child that failed before using its attempts failed as bad input: so does its stage.
    if (failed && failed.attemptsMade < (failed.opts.attempts ?? 1)) throw new UnrecoverableError(message);
    throw new Error(message, { cause: err });
  }
}

/** How often an awaited child's state is read besides its events. */
export const CHILD_POLL_MS = 1000;

/**
 * childFinished, with the child's state also read every `everyMs`. BullMQ's QueueEvents reads its stream
 * from "$" when it starts, and again after a read that timed out with no event: a child that finishes in
 * that instant raises no event this process sees (waitUntilFinished checks the state only once, when it
 * begins), and would be awaited forever. The poll sees it finished and settles as childFinished does.
 * `byEvent` is the child's childFinished when the caller already awaits it (not begun a second time).
 */
export async function childFinishedPolled<O>(
  child: Job,
  events: QueueEvents,
  queue: Queue,
  everyMs = CHILD_POLL_MS,
  byEvent: Promise<O> = childFinished<O>(child, events, queue),
): Promise<O> {
  let settled = false;
  const polled = (async (): Promise<O> => {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      if (settled) return new Promise<O>(() => undefined);
      // A Redis error here is the events' to report: read again at the next turn.
      const state = await queue.getJobState(child.id!).catch(() => 'unread');
      if (state === 'completed' || state === 'failed' || state === 'unknown')
        return childFinished<O>(child, events, queue);
    }
  })();
  try {
    return await Promise.race([byEvent, polled]);
  } finally {
    settled = true;
  }
}

// When the queue object's one alarm should be set, given the next stored deadline and the alarm already set.

/**
 * The time to set the alarm for, or undefined to leave it as it is. An alarm fires at a whole millisecond, so it is
 * set at or after the deadline, never in the millisecond just before it. Every setAlarm is billed as a row, so the
 * alarm only moves earlier: one that fires with nothing due costs an idle wake-up and is set again then. And when
 * the runtime finishes an alarm handler it deletes the alarm if it is still set for the time that fired, so while
 * one fires (`firing`), the next is set at least a millisecond past it, or it would never come.
 */
export function alarmTime(deadline: number | undefined, set: number | null, firing?: number): number | undefined {
  if (deadline === undefined) return undefined;
  let at = Math.ceil(deadline);
  if (firing !== undefined && at <= firing) at = firing + 1;
  return set === null || at < set ? at : undefined;
}

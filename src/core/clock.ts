// Deadlines in whole milliseconds: the unit of Date.now(), setTimeout and a Durable Object's alarm.

/**
 * The moment `seconds` after `now`, rounded up to a whole millisecond. A deadline with a fraction would be met by
 * a timer or an alarm that fires at the whole millisecond just before it, when it is not yet due.
 */
export const msAfter = (now: number, seconds: number): number => now + Math.ceil(seconds * 1000);

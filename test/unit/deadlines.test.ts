// Deadlines in whole milliseconds, and when the queue object sets its alarm for them.
import { describe, expect, it } from "vitest";
import { msAfter } from "../../src/core/clock.ts";
import { alarmTime } from "../../src/objects/queue/alarm-time.ts";

describe("msAfter", () => {
  it("rounds a deadline up to a whole millisecond, never down", () => {
    expect(msAfter(1000, 0.0505)).toBe(1051);
    expect(msAfter(1000, 0.05)).toBe(1050);
    expect(msAfter(1000, 2)).toBe(3000);
    expect(msAfter(1000, 0)).toBe(1000);
    for (let i = 0; i < 1000; i++) {
      const seconds = Math.random() * 10;
      const at = msAfter(1000, seconds);
      expect(Number.isInteger(at)).toBe(true);
      expect(at).toBeGreaterThanOrEqual(1000 + seconds * 1000);
      expect(at).toBeLessThan(1000 + seconds * 1000 + 1);
    }
  });
});

describe("alarmTime", () => {
  it("sets an alarm at or after a fractional deadline, not in the millisecond before it", () => {
    expect(alarmTime(1050.5, null)).toBe(1051);
    expect(alarmTime(1050, null)).toBe(1050);
  });

  it("only moves the alarm earlier (each setAlarm is a billed row)", () => {
    expect(alarmTime(undefined, null)).toBeUndefined();
    expect(alarmTime(2000, 1500)).toBeUndefined();
    expect(alarmTime(1500, 1500)).toBeUndefined();
    expect(alarmTime(1200, 1500)).toBe(1200);
  });

  it("while an alarm fires with nothing due yet, sets the next one past it, never for the same time", () => {
    // The runtime deletes an alarm still set for the time that fired once the handler returns.
    expect(alarmTime(1050.5, null, 1050)).toBe(1051);
    expect(alarmTime(1050, null, 1050)).toBe(1051);
    expect(alarmTime(1049, null, 1050)).toBe(1051);
    expect(alarmTime(1060, null, 1050)).toBe(1060);
  });
});

/** The CLI's progress line: totals and ETA from the last full sweep, and log lines never drawn over it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgressLine, progressText } from "../../cli/progress";

test("progressText: targets of about the last sweep's total, changes sent, an ETA from the pace so far", () => {
  const progress = { phase: "apply", targetsSeen: 2_500, changesSent: 700 } as const;
  assert.equal(progressText(progress, 10_000, 60_000), "apply: 2,500 of ~10,000 targets, 700 changes sent, ~3 min left");
  assert.equal(progressText(progress, undefined, 60_000), "apply: 2,500 targets, 700 changes sent", "no sweep recorded: no total, no ETA");
  assert.equal(progressText({ ...progress, targetsSeen: 0 }, 10_000, 1_000), "apply: 0 of ~10,000 targets, 700 changes sent", "no pace yet");
  assert.equal(progressText({ ...progress, targetsSeen: 12_000 }, 10_000, 60_000), "apply: 12,000 of ~10,000 targets, 700 changes sent", "past the estimate: no ETA");
  assert.equal(progressText({ ...progress, targetsSeen: 100 }, 100_000, 60_000), "apply: 100 of ~100,000 targets, 700 changes sent, ~16 h 39 min left");
});

test("a log line clears the progress line, is written whole, and the line is drawn again after it", async () => {
  const written: string[] = [];
  const line = new ProgressLine((text) => written.push(text), true);
  line.expect(1_000);
  line.update({ phase: "observe", targetsSeen: 10, changesSent: 0 });
  const stream = line.logStream();
  await new Promise<void>((resolve, reject) => stream.write("WARN something happened\n", (error) => (error ? reject(error) : resolve())));
  assert.deepEqual(written.slice(1), ["\r\x1b[K", "WARN something happened\n", `\r\x1b[K${written[0]?.slice(4) ?? ""}`]);
  assert.ok((written[0] ?? "").startsWith("\r\x1b[K"));
  assert.match((written[0] ?? "").slice(4), /^observe: 10 of ~1,000 targets, 0 changes sent, ~\d+ s left$/);
  line.clear();
  assert.equal(written.at(-1), "\r\x1b[K");
});

test("off a terminal nothing is drawn, and log lines pass through untouched", async () => {
  const written: string[] = [];
  const line = new ProgressLine((text) => written.push(text), false);
  line.update({ phase: "observe", targetsSeen: 10, changesSent: 0 });
  await new Promise<void>((resolve) => line.logStream().write("{\"level\":40}\n", () => resolve()));
  line.clear();
  assert.deepEqual(written, ["{\"level\":40}\n"]);
});

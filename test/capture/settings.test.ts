import { test } from "node:test";
import assert from "node:assert/strict";
import { CaptureConfigurationError, defaultCapturePolicy, parseCapturePolicy, parseCaptureSettings } from "../../shared/capture/settings";

test("settings: defaults filled in, createIfMissing is opt-in", () => {
  const settings = parseCaptureSettings({ captureMailbox: { address: "capture@contoso.com" }, accessGroup: "Readers" });
  assert.equal(settings.mode, "transport-rules");
  assert.equal(settings.captureMailbox?.createIfMissing, false);
  assert.equal(settings.captureMailbox?.licensed, false);
  assert.deepEqual(settings.thresholds, { quotaWarnRatio: 0.8, quotaFailRatio: 0.95, receiveRateWarnRatio: 0.8 });
  assert.equal(settings.peakHourFactor, 3);
  assert.ok(Object.isFrozen(settings));
});

test("settings: every problem reported at once", () => {
  const cases: [unknown, RegExp[]][] = [
    [{}, [/captureMailbox: required/, /accessGroup: required/]],
    [{ captureMailbox: { address: "not-an-address" }, accessGroup: "g", thresholds: { quotaWarnRatio: 0.9, quotaFailRatio: 0.5 } }, [/captureMailbox.address: must be an SMTP address/]],
    [{ captureMailbox: { address: "c@contoso.com" }, accessGroup: "g", thresholds: { quotaWarnRatio: 0.9, quotaFailRatio: 0.5 } }, [/quotaWarnRatio must not exceed quotaFailRatio/]],
    [{ mode: "journaling" }, [/journaling: required in journaling mode/]],
  ];
  for (const [input, messages] of cases) {
    assert.throws(
      () => parseCaptureSettings(input),
      (error: unknown) => {
        assert.ok(error instanceof CaptureConfigurationError);
        assert.equal(error.code, "CaptureSettingsInvalid");
        for (const message of messages) assert.match(error.message, message);
        return true;
      },
    );
  }
});

test("policy: shipped policy is valid; names must carry the managed prefix and comments the marker", () => {
  assert.equal(defaultCapturePolicy.transportRules[0]?.name, "mailbox-audit-enforcer: capture all mail");
  assert.throws(() => parseCapturePolicy({ ...defaultCapturePolicy, comments: "hand made" }), /comments: must contain the marker/);
  assert.throws(
    () => parseCapturePolicy({ ...defaultCapturePolicy, transportRules: [{ ...defaultCapturePolicy.transportRules[0], name: "Capture" }] }),
    /must start with "mailbox-audit-enforcer:"/,
  );
});

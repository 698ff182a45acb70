/**
 * The fast, pure tests that guard the mutated files (stryker.config.json), loaded into one process: Stryker's
 * command runner runs this once per mutant, and one process costs a fraction of `node --test`'s one per file.
 * Run directly (`node dist/bench/mutation-suite.js`); node:test exits non-zero when a test fails.
 */
import "../test/audit/diff.test";
import "../test/audit/plan.test";
import "../test/audit/opath.test";
import "../test/audit/policy.test";
import "../test/http/retry.test";
import "../test/alerts/alert-decision.test";
import "../test/capture/transport-rules.test";
import "../test/capture/capture-mailbox.test";
import "../test/capture/settings.test";
import "../test/capture/run-capture.test";
import "../test/capture/read-back.test";
import "../test/runs/run-request.test";
import "../test/capture/journaling.test";

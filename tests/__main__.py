"""`python -m tests [trial args]`: run the whole suite with trial, then print one line
`N passed, M failed, K skipped` computed from trial's own result object (CI reads that line).
Exit status 0 only when nothing failed and at least one test ran."""

import sys

from twisted.scripts import trial


def main(argv):
    config = trial.Options()
    config.parseOptions(argv or ["tests", "bench/test_bench.py", "bench/test_fuzz.py"])
    trial._initialDebugSetup(config)
    runner = trial._makeRunner(config)
    suite = trial._getSuite(config)
    result = runner.run(suite)
    failed = (len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses))
    passed = result.successes + len(result.expectedFailures)
    print("%d passed, %d failed, %d skipped" % (passed, failed, len(result.skips)))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

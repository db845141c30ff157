"""Runs one Python test module for CTest and makes skips visible: exit 0 when every test ran
and passed, 1 on a failure, 77 (CTest's SKIP_RETURN_CODE: "Skipped", not "Passed") when a
test was skipped because a peer (Prometheus, Alertmanager, amtool, Chromium) is missing. With
TRIAGED_REQUIRE_PEERS set (CI sets it), a skip is a failure.
Usage: run_unittest.py MODULE (from the module's folder)."""
import os
import sys
import unittest

sys.path.insert(0, os.getcwd())
suite = unittest.defaultTestLoader.loadTestsFromName(sys.argv[1])
result = unittest.TextTestRunner(verbosity=2).run(suite)
if not result.wasSuccessful():
    sys.exit(1)
if result.skipped:
    for test, why in result.skipped:
        print(f"SKIPPED {test.id()}: {why}")
    if os.environ.get("TRIAGED_REQUIRE_PEERS"):
        print("a test was skipped while TRIAGED_REQUIRE_PEERS is set: failing")
        sys.exit(1)
    sys.exit(77)

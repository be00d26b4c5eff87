"""What tests share: fakes, helpers and the suite's speed-ups (no test module imports another)."""

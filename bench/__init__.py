"""TinyTrail's benchmark suite: `make bench` (python -m bench.run) writes docs/performance.md."""

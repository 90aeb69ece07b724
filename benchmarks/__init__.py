"""Reproducible benchmarks; each module has a `main()` and runs as `python -m benchmarks.<name>`."""

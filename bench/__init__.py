"""Performance benchmarks of tts_nb (not timed tests): `python -m bench` runs them all; see bench/RESULTS.md."""

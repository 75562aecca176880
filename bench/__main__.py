"""`python -m bench [--quick] [--only ...]`: run every benchmark (see bench/run_all.py)."""
import runpy
runpy.run_module("bench.run_all", run_name="__main__")

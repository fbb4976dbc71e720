"""The speed benchmark (`make bench`) and its baselines; not part of the pipeline package.

bench.py runs every measurement and writes artifacts/bench.json, artifacts/bench.md and the table in
docs/performance.md; memory_feed.py is goal 3's in-memory baseline; torch_peer.py is goal 2's PyTorch
peer, run from its own virtual environment.
"""

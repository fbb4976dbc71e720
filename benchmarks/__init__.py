"""The speed benchmark (`make bench`) and its baselines; not part of the pipeline package.

bench.py is its command line: it runs every measurement (measure.py, against reference.py, peers.py
and pair.py) and writes artifacts/bench.json, artifacts/bench.md and the table (table.py) in
docs/performance.md (doc.py); memory_feed.py is goal 3's in-memory baseline; torch_peer.py and
jax_peer.py are goal 2's peers, each run from its own virtual environment.
"""

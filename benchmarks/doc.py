"""docs/performance.md: how each figure is measured, and the latest table between its bench markers."""
from pathlib import Path

import click

DOC = "docs/performance.md"  # relative to the repository root
DOC_BEGIN, DOC_END = "<!-- bench:begin -->", "<!-- bench:end -->"

DOC_TEMPLATE = f"""# Performance

`make bench` (`python -m benchmarks.bench`) measures every speed goal against its baseline in the same
run and writes `artifacts/bench.json`, `artifacts/bench.md` and the table below. Each figure is the
median of several runs, each in a fresh process; each ratio compares ours with a baseline measured in
the same run, so a machine-wide slowdown affects both sides (higher is better).

How each figure is measured:

- **1a, 1b: time to target.** `pipeline train` with its defaults, to 0.999 validation accuracy (fit
  time) and from process start to the model written, against the reference recipe: one `model.fit`
  per freshly generated sample, timed over a few hundred fits and extrapolated to its 10,000.
- **2: training throughput.** `pipeline train` for 3 epochs of 131,072 samples (at most 4,096
  batches) from the HDF5 file (the first epoch, which traces, is not counted), against two peers
  training the same LSTM on the CPU from tensors in memory: PyTorch (`benchmarks/torch_peer.py`,
  warm-up steps not counted) and Keras 3 on JAX (`benchmarks/jax_peer.py`, compiled with XLA, 32
  steps per call, its first epoch not counted), each run from its own virtual environment
  (`.venv-torch`, `.venv-jax`); neither is a dependency of the package. Each batch size runs ours and
  then both peers before the next; each ratio is the median of the runs' own ratios.
- **3: the input pipeline.** One process per batch size: two identical models, one fed by the HDF5
  reader and one from the same batches held in memory (`benchmarks/memory_feed.py`), `fit` in turns
  of a second or two (which goes first alternating), so both see the same load. Each turn is timed
  from the end of its first compiled call to the end of its last; the ratio is the median of each
  pair's own ratio.
- **4a, 4b: generate.** Samples/s of `pipeline generate` writing 30M samples, against the reference's
  per-sample generator and against the disk itself: after each timed run, as many bytes written and
  fsynced with nothing else to do, the most `generate` can reach on that disk at that moment. Peak
  memory (RSS) at 1M samples and at the largest size.
- **5a, 5b: evaluate and predict.** Samples/s of the stages, against the reference's per-sample
  `model.predict`.
- **6a, 6b: make.** `make all` from scratch in a copy of the project, then again with nothing to do.

A baseline that cannot run stops the bench with the reason; one left out on purpose (`--skip`,
`--no-torch`) is named in its rows instead of a figure.

{DOC_BEGIN}
{DOC_END}
"""


def doc_text(path: Path) -> str:
    """The document, with one pair of markers: the template if it does not exist, the markers appended
    if it has none. Checked before the bench runs, so a bad document fails it at once."""
    if not path.exists():
        return DOC_TEMPLATE
    text = path.read_text()
    begins, ends = text.count(DOC_BEGIN), text.count(DOC_END)
    if begins == ends == 0:
        return text.rstrip("\n") + f"\n\n{DOC_BEGIN}\n{DOC_END}\n"
    if begins != 1 or ends != 1 or text.index(DOC_BEGIN) > text.index(DOC_END):
        raise click.ClickException(f"{path}: needs one {DOC_BEGIN} followed by one {DOC_END} "
                                   f"(found {begins} and {ends})")
    return text


def write_doc(path: Path, table: str) -> None:
    """Put `table` between the document's markers, keeping everything outside them."""
    from pipeline.files import write_text_atomic

    text = doc_text(path)
    head, rest = text.split(DOC_BEGIN)
    _, tail = rest.split(DOC_END)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, f"{head}{DOC_BEGIN}\n{table.rstrip()}\n{DOC_END}{tail}")

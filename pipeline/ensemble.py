"""Stage, ensemble: one model that averages the class probabilities of several trained models (a soft
vote), such as one per seed.

Reads --model, once per member: two or more models trained on the same data (the same problem and
content hash). Writes --out, a model in Keras 3's .keras format built from Keras' own layers (the
members as sub-models under one input, then keras.layers.Average), so it loads in plain Keras 3 and
evaluate, predict and export take it as they take one model. Its metadata names it "ensemble of N" and
holds the dataset it was trained on and each member's path, seed and settings. Every check runs before
TensorFlow loads; a refused ensemble writes nothing.

    python -m pipeline ensemble --model artifacts/sweeps/SEED/0/model.keras \\
        --model artifacts/sweeps/SEED/1/model.keras --out artifacts/ensemble/model.keras
"""
from pathlib import Path

import click

from pipeline import modelfile
from pipeline.files import BadFile, atomic_output, writable_target

VOTE = "soft: the mean of the members' class probabilities"


def members(paths) -> list:
    """Each member's metadata: two or more models made by `train`, all of one problem and dataset."""
    if len(paths) < 2:
        raise BadFile(f"an ensemble needs two models or more (--model once per member); got {len(paths)}")
    found = [modelfile.read_metadata(p) for p in paths]
    first = found[0]["dataset"]
    for path, metadata in zip(paths[1:], found[1:]):
        theirs = metadata["dataset"]
        differ = modelfile.problem_differences(first["problem"], theirs["problem"])
        if differ:
            ours, other = (modelfile.problem_text(d["problem"], differ) for d in (theirs, first))
            raise BadFile(f"model {path} was trained on a problem with {ours} but model {paths[0]} on one with "
                          f"{other}; an ensemble's members share one problem")
        if theirs.get("content_hash") != first.get("content_hash"):
            raise BadFile(f"model {path} was trained on other data ({theirs.get('path')}, content hash "
                          f"{str(theirs.get('content_hash'))[:12]}) than model {paths[0]} ({first.get('path')}, "
                          f"{str(first.get('content_hash'))[:12]}); an ensemble's members share one dataset")
    return found


def ensemble_metadata(paths, found: list, out) -> dict:
    """What the ensemble's file carries: its name, how it votes, its members and their dataset."""
    n = len(found)
    listed = [{"path": str(p), "seed": m.get("settings", {}).get("seed"), "settings": m.get("settings"),
               "model": m.get("model")} for p, m in zip(paths, found)]
    return {"settings": {"ensemble_of": n, "vote": VOTE, "seeds": [m["seed"] for m in listed],
                         "members": [m["path"] for m in listed]},
            "ensemble": {"name": f"ensemble of {n}", "vote": VOTE, "members": listed},
            "dataset": found[0]["dataset"],
            "model": {"architecture": f"ensemble_of_{n}", "members": n, "path": str(out)}}


def ensemble(paths, out) -> dict:
    """Write the ensemble of the models at `paths` to `out`; returns its metadata."""
    found = members(paths)
    if Path(out).suffix != ".keras":
        raise click.BadParameter(f"{out}: a model file's name ends in .keras", param_hint="'--out'")
    writable_target(out)
    from pipeline.backend import versions
    from pipeline.model import load_model, soft_vote

    metadata = ensemble_metadata(paths, found, out)
    net = soft_vote([load_model(p)[0] for p in paths], metadata["model"]["architecture"])
    metadata["model"]["parameters"] = net.count_params()
    metadata["versions"] = versions()
    with atomic_output(out) as tmp:
        net.save(tmp)
        modelfile.add_metadata(tmp, metadata)
    return metadata


@click.command("ensemble")
@click.option("--model", "model_paths", type=click.Path(), multiple=True, required=True,
              help="A member: a model written by 'train' (give it once per member, two or more).")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Ensemble model to write (.keras).")
def cli(model_paths, out):
    """Make one model that averages the class probabilities of several models of the same data."""
    metadata = ensemble(model_paths, out)
    seeds = ", ".join(str(s) for s in metadata["settings"]["seeds"])
    click.echo(f"wrote {out}: {metadata['ensemble']['name']} (seeds {seeds}), {metadata['model']['parameters']:,} "
               "weights, soft vote")

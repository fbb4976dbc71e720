"""Named echo problems. A preset fills the problem shape; explicit options still override it."""
import click

PROBLEMS = {
    "reference": {"length": 5, "n_features": 10, "out_index": 2},
    "wide": {"length": 25, "n_features": 100, "out_index": 2},
    "long": {"length": 1000, "n_features": 10, "out_index": 2},
}

problem_option = click.option(
    "--problem", type=click.Choice(list(PROBLEMS)), default="reference", show_default=True,
    help="Problem preset: reference (5 x 10), wide (25 x 100), long (1000 x 10).")


def resolve_problem(problem: str, **given) -> dict:
    """The preset's shape with explicitly given values on top; checks out_index < length."""
    shape = {**PROBLEMS[problem], **{k: v for k, v in given.items() if v is not None}}
    if shape["out_index"] >= shape["length"]:
        raise click.BadParameter(f"{shape['out_index']} is not in [0, length={shape['length']})",
                                 param_hint="'--out-index'")
    return shape

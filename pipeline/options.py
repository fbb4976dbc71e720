"""Click options and value parsers that several commands share, with their defaults from config."""
import math

import click

from pipeline import config

SEED = click.IntRange(0, 2**32 - 1)  # what NumPy's and Keras' seeding take


class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses nan and inf, which pass its comparisons."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


data_option = click.option("--data", "data_path", type=click.Path(), default=config.DATA_PATH, show_default=True,
                           help="Dataset written by 'generate'.")
model_option = click.option("--model", "model_path", type=click.Path(), default=config.MODEL_PATH,
                            show_default=True, help="Model written by 'train'.")
def int_list(text: str, example: str = "5,10,20") -> list:
    """'7, 0,2' -> [7, 0, 2]; click.BadParameter naming the text if it is not integers separated by commas."""
    try:
        return [int(x) for x in text.replace(" ", "").split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers, e.g. {example}") from None

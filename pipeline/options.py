"""Options that several stages share, declared once."""
import click

data_option = click.option("--data", "data_path", type=click.Path(), default="data/echo.h5", show_default=True,
                           help="Dataset written by 'generate'.")
model_option = click.option("--model", "model_path", type=click.Path(), default="artifacts/model.keras",
                            show_default=True, help="Model written by 'train'.")

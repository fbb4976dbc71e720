"""The command line: `python -m pipeline` or `echo-pipeline`, one subcommand per stage.

Errors in options (exit 2) or files (exit 1) print one line on stderr, never a traceback.
"""
import os
import sys

import click

from pipeline import (
    NAME,
    __version__,
    baseline,
    compare,
    ensemble,
    ensemble_summary,
    evaluate,
    export,
    generate,
    importer,
    inspection,
    params,
    predict,
    report,
    resample,
    resamples,
    sweep,
    train,
)
from pipeline.distributed import launcher


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name=NAME)
@click.option("-v", "--verbose", is_flag=True, help="Also show TensorFlow's start-up log.")
def cli(verbose):
    """Echo sequence prediction with a vanilla LSTM, stage by stage."""
    params.checked_presets()  # a bad preset stops every command with one line
    if verbose:  # read by pipeline.backend, in this process and the workers it starts
        os.environ["ECHO_PIPELINE_VERBOSE"] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


for command in (generate.cli, importer.cli, train.cli, launcher.cli, evaluate.cli, predict.cli, export.cli,
                baseline.cli, inspection.cli, sweep.cli, compare.cli, report.cli, ensemble.cli, ensemble_summary.cli,
                resample.cli, resamples.cli):
    cli.add_command(command)


def main(argv=None):
    try:
        code = cli.main(args=argv, prog_name=NAME, standalone_mode=False)
    except click.ClickException as e:
        click.echo(f"{NAME}: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo(f"{NAME}: aborted", err=True)
        sys.exit(130)
    except OSError as e:  # one outside the stages' own checks: still one line, naming the file when known
        message = f"{e.filename}: {e.strerror}" if e.filename and e.strerror else (str(e).splitlines() or [""])[0]
        click.echo(f"{NAME}: error: {message}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)

"""A curriculum over sequence length, for echoes that must be carried across long sequences: the plan.

The label sits at out_index, so every prefix longer than out_index is itself a valid echo example,
only easier. Training starts on short prefixes of the stored sequences and moves to the next length
once the epoch's training accuracy reaches ADVANCE_ACCURACY, ending on the full length: a phase per length. Phases from
lr_at_length on train at the learning rate; shorter ones at a higher rate, scaled by
sqrt(lr_at_length / length): the rate that suits long sequences is slow for short ones, and one high
enough for short ones made long ones unstable (docs/experiments.md). Half the batches use the current
length, the others one of the earlier lengths, picked at random: this keeps what was learnt and is
cheaper (Zaremba & Sutskever's "mixed" curriculum). Validation runs on the validation sequences cut to
the current length: at 5,000 steps a full-length validation after every epoch would cost more than the
short phases' training; only a validation at the full length counts toward the target. The model the
curriculum trains shares its layers (its weights) with the full-length model that is saved. The
callback that carries it out in model.fit: callbacks.Curriculum (TensorFlow lives there, not here).
"""
import click

ADVANCE_ACCURACY = 0.999


def lengths(prefixes, length: int, out_index: int) -> list:
    """The prefix lengths to train on, ending with the full length; each must hold out_index."""
    short = [n for n in prefixes if n < length]
    if short and short[0] <= out_index:
        raise click.BadParameter(f"prefix length {short[0]} does not reach out_index {out_index}",
                                 param_hint="'--curriculum'")
    return [*short, length]


def phase_learning_rate(learning_rate: float, length: int, lr_at_length: int) -> float:
    """The rate of a phase: learning_rate * sqrt(lr_at_length / length) below lr_at_length, else learning_rate."""
    if length < lr_at_length:
        return learning_rate * (lr_at_length / length) ** 0.5
    return learning_rate

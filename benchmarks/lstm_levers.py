"""Ways of running the LSTM that training's fused kernel (pipeline/fused_lstm.py) was measured against, on
one part of a batch (docs/performance.md, the JapaneseVowels row's levers): ms per call, forward only
and forward with the gradient of the weights.

- fused: the kernel (BlockLSTM forward, its lean backward loop);
- plain: a tf.while_loop, the input product for all steps at once, then a product and the gates a step;
- product: the loop of the step's matrix product alone, nothing else (the floor of any loop);
- blockgrad: BlockLSTM with TensorFlow's own gradient (BlockLSTMGradV2).

    .venv/bin/python -m benchmarks.lstm_levers --rows 16 --steps 29 --features 12
    TF_ENABLE_ONEDNN_OPTS=0 .venv/bin/python -m benchmarks.lstm_levers ...   # oneDNN's kernels off

Prints one JSON line: {"forward_ms": {way: ms}, "forward_backward_ms": {way: ms}, "shape": ...}.
"""
import json

import click
import numpy as np

from benchmarks.lstm_shapes import rounds_of, timed


def ways(x, w, b, units: int) -> dict:
    """way -> (forward, forward_and_backward): tf.functions of no argument returning a tensor."""
    from pipeline import fused_lstm
    from pipeline.backend import tf

    steps, rows, features = x.shape
    zeros = tf.zeros((rows, units))
    peephole = tf.zeros((units,))

    def plain():
        projected = tf.reshape(tf.matmul(tf.reshape(x, [-1, features]), w[:features]) + b, [steps, rows, 4 * units])

        def body(t, h, c, out):
            i, g, f, o = tf.split(projected[t] + tf.matmul(h, w[features:]), 4, 1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            return t + 1, h, c, out.write(t, h)

        out = tf.TensorArray(x.dtype, steps)
        return tf.while_loop(lambda t, *_: t < steps, body, [0, zeros, zeros, out])[3].stack()

    def product():
        state = tf.zeros((rows, features + units))
        return tf.while_loop(lambda t, *_: t < steps, lambda t, acc: (t + 1, acc + tf.matmul(state, w)),
                             [0, tf.zeros((rows, 4 * units))])[1]

    def blockgrad():
        return tf.raw_ops.BlockLSTMV2(seq_len_max=tf.constant(steps, tf.int64), x=x, cs_prev=zeros, h_prev=zeros,
                                      w=w, wci=peephole, wcf=peephole, wco=peephole, b=b, cell_clip=0.0,
                                      use_peephole=False)[-1]

    def with_gradient(forward):
        def both():
            with tf.GradientTape() as tape:
                cost = tf.reduce_sum(forward()[-1] ** 2)
            return tape.gradient(cost, w)
        return tf.function(both)

    found = {"fused": lambda: fused_lstm._block_lstm(x, w, b), "plain": plain, "product": product,
             "blockgrad": blockgrad}
    return {name: (tf.function(f), None if name == "product" else with_gradient(f)) for name, f in found.items()}


@click.command()
@click.option("--rows", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=29, show_default=True)
@click.option("--features", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--units", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--calls", type=click.IntRange(min=5), default=100, show_default=True)
@click.option("--intra", type=click.IntRange(min=0), default=0, help="Intra-op threads (0: TensorFlow's choice).")
@click.option("--inter", type=click.IntRange(min=0), default=0, help="Inter-op threads (0: TensorFlow's choice).")
def cli(rows, steps, features, units, calls, intra, inter):
    from pipeline.backend import tf

    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(steps, rows, features)).astype(np.float32))
    w = tf.Variable(rng.normal(0, 0.1, (features + units, 4 * units)).astype(np.float32))
    b = tf.Variable(np.zeros(4 * units, np.float32))
    args = rounds_of(calls)
    result = {"forward_ms": {}, "forward_backward_ms": {}, "shape": {"rows": rows, "steps": steps,
                                                                      "features": features, "units": units}}

    def ms(call) -> float:
        return timed(lambda: call().numpy(), args)["ms_per_step"]

    for name, (forward, both) in ways(x, w, b, units).items():
        result["forward_ms"][name] = ms(forward)
        if both is not None:
            result["forward_backward_ms"][name] = ms(both)
    click.echo(json.dumps(result))


if __name__ == "__main__":
    cli()

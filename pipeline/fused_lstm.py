"""The LSTM of training in one fused kernel: tf-keras' LSTM layer (its weights, their layout, its config)
whose forward pass over all steps is TensorFlow's BlockLSTM op, and whose backward pass loops over the
steps doing only what must be done step by step (the cell's gradient, one op, and one matrix product);
the weight gradients are then one matrix product over all steps.

Keras' LSTM on CPU runs a while loop of some twenty ops a step forward and forty backward, whose
gradients take transposed matrix products (three times slower here than plain ones) and add a weight
gradient step by step. docs/performance.md has the measurements.

Padding: rows are padded after their last step (the reader's layout), so the kernel runs over the padded
batch and each row's output is taken at its last real step; a backwards layer first reverses each row
within its own length. A returned sequence is zero past each row's end, as Keras' is inside a
bidirectional layer. A mask with gaps inside a row (possible after the conv front end, whose windows can
be exactly zero) cannot be run this way: a layer made with gaps=True takes Keras' own loop for a batch
with gaps.
"""
import os

from pipeline.backend import keras, tf

MIN_PART_ROWS = 16  # fewer rows make the kernel's matrix products too small to pay for a thread


class FusedLSTM(keras.layers.LSTM):
    """keras.layers.LSTM, computed by the fused kernel whenever Keras would pick cuDNN on a GPU (tanh and
    sigmoid, no recurrent dropout, not unrolled) and the call is a plain one; otherwise Keras' loop.
    Not for XLA (jit_compile): BlockLSTM has no XLA kernel."""

    def __init__(self, *args, gaps: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.gaps = gaps

    def get_config(self):
        return {**super().get_config(), "gaps": self.gaps}

    def call(self, inputs, mask=None, training=None, initial_state=None):
        mask = mask[0] if isinstance(mask, list) else mask
        plain = initial_state is None and not (self.stateful or self.time_major or self.return_state)
        if not (plain and self._could_use_gpu_kernel) or isinstance(inputs, tf.RaggedTensor):
            return super().call(inputs, mask=mask, training=training, initial_state=initial_state)
        steps = tf.shape(inputs)[1]
        if mask is None:
            lengths = tf.fill(tf.shape(inputs)[:1], steps)
        else:
            lengths = tf.reduce_sum(tf.cast(mask, tf.int32), 1)

        def fused():
            self.reset_dropout_mask()
            keep = self.get_dropout_mask_for_cell(inputs, training)  # as Keras': per row, step and feature
            cell = self.cell
            return lstm(inputs if keep is None else inputs * keep, lengths,
                        (cell.kernel, cell.recurrent_kernel, cell.bias), self.go_backwards, self.return_sequences)

        if mask is None or not self.gaps:
            return fused()
        padding_only = tf.reduce_all(tf.equal(mask, tf.sequence_mask(lengths, steps)))
        return tf.cond(padding_only, fused,
                       lambda: super(FusedLSTM, self).call(inputs, mask=mask, training=training))


def lstm(x, lengths, weights, backwards: bool = False, sequences: bool = False):
    """An LSTM over x (batch, steps, features), each row padded after its `lengths` steps, with Keras'
    weights (kernel, recurrent_kernel, bias): each row's output at its last real step (batch, units), or
    (sequences) at every step (batch, steps, units), zero past the row's end and, backwards, in Keras'
    order (from the last step). A row of no steps gives zeros, as Keras' initial state.

    The rows, sorted by length, run in parts (one per core, parts()), side by side on TensorFlow's
    threads, each only as far as its own longest row: one kernel a step is too small to share."""
    kernel, recurrent, bias = weights
    if backwards:
        x = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
    cell = (_icfo(tf.concat([kernel, recurrent], 0)), _icfo(bias))
    sizes = parts(x.shape[0])
    if len(sizes) == 1:
        out = _part(x, lengths, cell, sequences)
    else:
        order = tf.argsort(lengths, stable=True)
        inverse = tf.argsort(order)
        pieces = zip(tf.split(_rows(x, order, inverse), sizes), tf.split(tf.gather(lengths, order), sizes))
        out = _rows(tf.concat([_part(xs, ls, cell, sequences) for xs, ls in pieces], 0), inverse, order)
    if not sequences:
        return out
    if backwards:
        out = tf.reverse_sequence(out, lengths, seq_axis=1, batch_axis=0)
    out *= tf.cast(tf.sequence_mask(lengths, tf.shape(x)[1]), out.dtype)[..., None]
    return tf.reverse(out, [1]) if backwards else out


def parts(rows: int | None) -> list:
    """The sizes of the parts a batch of `rows` runs in: one per inter-op thread of TensorFlow (per core by
    default), of at least MIN_PART_ROWS rows; one part when the batch size is not known when tracing."""
    threads = tf.config.threading.get_inter_op_parallelism_threads() or os.cpu_count() or 1
    count = max(1, min(threads, (rows or 0) // MIN_PART_ROWS))
    return [rows // count] * (count - 1) + [rows - rows // count * (count - 1)] if count > 1 else [rows]


def _part(x, lengths, cell, sequences: bool):
    """The kernel over rows x (rows, steps, features) as far as their longest row: each row's output at
    its last real step (zero for a row of no steps), or (sequences) every step's, padded to x's steps."""
    longest = tf.maximum(tf.reduce_max(lengths), 1)
    h = _block_lstm(tf.transpose(x[:, :longest], [1, 0, 2]), *cell)
    if sequences:
        return tf.pad(tf.transpose(h, [1, 0, 2]), [[0, 0], [0, tf.shape(x)[1] - longest], [0, 0]])
    last = tf.gather_nd(h, tf.stack([tf.maximum(lengths - 1, 0), tf.range(tf.shape(x)[0])], 1))
    return last * tf.cast(lengths > 0, h.dtype)[:, None]


@tf.custom_gradient
def _rows(x, order, inverse):
    """x's rows in `order` (inverse: the inverse permutation), with a dense gradient (tf.gather's is sparse)."""
    return tf.gather(x, order), lambda dy: (tf.gather(dy, inverse), None, None)


def _icfo(t):
    """Keras' gate order (input, forget, cell, output) along the last axis, as BlockLSTM's (i, c, f, o)."""
    i, f, c, o = tf.split(t, 4, axis=-1)
    return tf.concat([i, c, f, o], -1)


@tf.custom_gradient
def _block_lstm(x, w, b):
    """h (steps, batch, units) of an LSTM over x (steps, batch, features) from zero states; w (features +
    units, 4 units) and b (4 units) in BlockLSTM's gate order. The cell clips nothing and adds no forget
    bias: Keras' LSTM."""
    units, batch, features = tf.shape(b)[0] // 4, tf.shape(x)[1], tf.shape(x)[2]
    zeros = tf.zeros(tf.stack([batch, units]), x.dtype)
    peephole = tf.zeros(tf.expand_dims(units, 0), x.dtype)
    cell = {"w": w, "wci": peephole, "wcf": peephole, "wco": peephole, "b": b}
    i, cs, f, o, ci, co, h = tf.raw_ops.BlockLSTM(
        seq_len_max=tf.cast(tf.shape(x)[0], tf.int64), x=x, cs_prev=zeros, h_prev=zeros, forget_bias=0.0,
        cell_clip=-1.0, use_peephole=False, **cell)

    def gradient(dh):
        """Back through the steps: at each, the cell's gradient (LSTMBlockCellGrad, gates in BlockLSTM's
        order) and the recurrent matrix product; then every weight gradient in one product over all steps."""
        recurrent_t = tf.transpose(w[features:])  # a plain product in the loop: transpose_b is 3x slower here
        no_x = tf.zeros(tf.stack([batch, features]), x.dtype)  # the cell's gradient reads x and h_prev for shapes

        def step(t, cs_prev, carried):
            """The gates' gradient at step t, and what goes back to step t - 1: (dh, dcs)."""
            dh_next, dcs_next = carried
            dcs_prev, dgates, _, _, _ = tf.raw_ops.LSTMBlockCellGrad(
                x=no_x, cs_prev=cs_prev, h_prev=zeros, i=i[t], cs=cs[t], f=f[t], o=o[t], ci=ci[t], co=co[t],
                cs_grad=dcs_next, h_grad=dh[t] + dh_next, use_peephole=False, **cell)
            # the loop's carried values keep the shape they enter with (inside tf.cond the cell's gradient
            # has no static shape while the zeros have one)
            return dgates, (tf.ensure_shape(tf.matmul(dgates, recurrent_t), zeros.shape),
                            tf.ensure_shape(dcs_prev, zeros.shape))

        def body(t, carried, found):
            dgates, carried = step(t, cs[t - 1], carried)
            return [t - 1, carried, found.write(t, dgates)]

        found = tf.TensorArray(x.dtype, size=tf.shape(x)[0], element_shape=tf.TensorShape([None, None]))
        _, carried, found = tf.while_loop(lambda t, *_: t > 0, body, [tf.shape(x)[0] - 1, (zeros, zeros), found],
                                          parallel_iterations=1)
        dgates = found.write(0, step(0, zeros, carried)[0]).stack()  # (steps, batch, 4 units)
        flat = tf.reshape(dgates, [-1, 4 * units])
        x_1 = tf.reshape(tf.concat([x, tf.ones_like(x[..., :1])], 2), [-1, features + 1])  # the 1s give db
        dwx = tf.matmul(x_1, flat, transpose_a=True)
        dwh = tf.matmul(tf.reshape(h[:-1], [-1, units]), tf.reshape(dgates[1:], [-1, 4 * units]), transpose_a=True)
        dx = tf.reshape(tf.matmul(flat, w[:features], transpose_b=True), tf.shape(x))
        return [dx, tf.concat([dwx[:-1], dwh], 0), dwx[-1]]  # one per input: x, w, b

    return h, gradient

"""Analytic multiply-add (FLOPs) counter for functional Keras models.

Convention: one "FLOP" is one multiply-add of a weighted linear layer, for one example, the
unit of the EfficientNet, ResNet and Bag of Tricks tables (ResNet-50: 3.8 billion). Only
layers with weights that multiply are counted:

| layer                          | multiply-adds per example                               |
|--------------------------------|---------------------------------------------------------|
| Conv1D/2D/3D                   | output elements * kernel volume * input channels/groups |
| DepthwiseConv1D/2D             | output elements * kernel volume                         |
| SeparableConv1D/2D             | depthwise part + output elements * input channels * dm  |
| Conv1D/2D/3DTranspose          | input elements * kernel volume * output channels        |
| Dense (any input rank)         | input elements / input units * input units * units     |
| EinsumDense                    | output elements * contracted size (from the kernel)     |

Biases, batch norm, activations, pooling, element-wise products (squeeze-excite), additions
and normalisation are not counted: they are a few percent at most and the papers omit them.
A nested functional model is counted through its own graph.
"""

import collections
import math

import keras

ModelSize = collections.namedtuple("ModelSize", ["params", "flops", "head_params"])
ModelSize.__doc__ = "Weights (trainable and not), multiply-adds per example, classifier weights."


def _volume(shape):
    return math.prod(int(size) for size in shape)


def _check_known(shape, layer):
    if any(size is None for size in shape[1:]):
        raise ValueError(
            f"Layer {layer.name!r} has an unknown non-batch size in {tuple(shape)}; build the "
            "model with a fixed `input_shape` (height and width) to count its FLOPs."
        )


def layer_flops(layer, input_shape, output_shape):
    """Multiply-adds of one call of `layer` on one example.

    Args:
        layer: a Keras layer.
        input_shape: its input shape, batch axis first (the batch size is ignored).
        output_shape: its output shape, batch axis first.

    Returns:
        int, 0 for layers the convention does not count.
    """
    layers = keras.layers
    if isinstance(layer, (layers.SeparableConv1D, layers.SeparableConv2D)):
        _check_known(output_shape, layer)
        kernel_volume = _volume(layer.kernel_size)
        out_spatial = _volume(output_shape[1:-1])
        in_channels = int(input_shape[-1])
        depthwise = out_spatial * in_channels * layer.depth_multiplier * kernel_volume
        pointwise = out_spatial * in_channels * layer.depth_multiplier * int(output_shape[-1])
        return depthwise + pointwise
    if isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)):
        _check_known(output_shape, layer)
        return _volume(output_shape[1:]) * _volume(layer.kernel_size)
    if isinstance(layer, (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)):
        _check_known(input_shape, layer)
        return _volume(input_shape[1:]) * _volume(layer.kernel_size) * layer.filters
    if isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.Conv3D)):
        _check_known(output_shape, layer)
        in_channels = int(input_shape[-1]) // layer.groups
        return _volume(output_shape[1:]) * _volume(layer.kernel_size) * in_channels
    if isinstance(layer, layers.Dense):
        _check_known(input_shape, layer)
        return _volume(input_shape[1:]) * layer.units
    if isinstance(layer, layers.EinsumDense):
        _check_known(output_shape, layer)
        kernel_size = _volume(layer.kernel.shape)
        # Each output element sums over the kernel axes that are not output axes.
        contracted = kernel_size // _kernel_output_volume(layer, output_shape)
        return _volume(output_shape[1:]) * contracted
    return 0


def _kernel_output_volume(layer, output_shape):
    """Size of the EinsumDense kernel axes that also appear in the output."""
    kernel, output = layer.equation.split(",")[1].split("->")
    sizes = dict(zip(kernel, layer.kernel.shape, strict=True))
    return _volume(sizes[axis] for axis in kernel if axis in output)


def _graph_nodes(model):
    if isinstance(model, keras.Sequential):
        model.build()  # Sequential keeps its graph in a private functional model.
        model = model._functional
    nodes_by_depth = getattr(model, "_nodes_by_depth", None)
    if nodes_by_depth is None:
        raise TypeError(
            f"`model` must be a functional (or Sequential) Keras model with a graph; got "
            f"{type(model).__name__}. Subclassed models have no graph to walk; wrap the "
            "network in `keras.Model(inputs, outputs)`."
        )
    for depth in sorted(nodes_by_depth, reverse=True):
        yield from nodes_by_depth[depth]


def count_flops(model, per_layer=False):
    """Multiply-adds of one forward pass of one example through a functional model.

    Args:
        model: a functional or Sequential `keras.Model` built with fixed spatial sizes.
        per_layer: if True, also return a dict layer name -> multiply-adds (non-zero only).

    Returns:
        int, or `(int, dict)` when `per_layer`.

    Example:
    ```python
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(8, 3, padding="same")(inputs))
    count_flops(model)  # 32 * 32 * 8 * 3 * 3 * 3 = 221184
    ```
    """
    total = 0
    breakdown = {}
    for node in _graph_nodes(model):
        layer = node.operation
        if layer is None or node.is_input:
            continue
        if isinstance(layer, keras.Model):
            flops = count_flops(layer)
        else:
            if not node.input_tensors or not node.outputs:
                continue
            flops = layer_flops(layer, node.input_tensors[0].shape, node.outputs[0].shape)
        if flops:
            total += flops
            breakdown[layer.name] = breakdown.get(layer.name, 0) + flops
    return (total, breakdown) if per_layer else total

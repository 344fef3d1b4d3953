"""A teacher and its student must predict the same classes: checked as soon as shapes are known.

A model made without an input shape (`keras.Sequential([...])` with no `keras.Input`) has no
outputs until it is built, so a count check that only reads `model.outputs` lets a mismatch
through, and TensorFlow fails later with a shape error deep inside the loss. Here an unbuilt
network is built on the input shape of the other network (both read the same images), or on
the shape of the first batch when neither has one.
"""

import keras


def input_shape_of(model):
    """The image shape `model` takes (no batch axis), or None when it has no known input."""
    inputs = getattr(model, "inputs", None)
    return tuple(inputs[0].shape[1:]) if inputs else None


def predicted_classes(model, input_shape=None):
    """The number of classes `model` predicts (the last axis of its output).

    A model without outputs is called symbolically on `input_shape`, which builds it; without
    an `input_shape` it stays unbuilt and the count is None.
    """
    outputs = getattr(model, "outputs", None)
    if outputs:
        return int(outputs[0].shape[-1])
    if input_shape is None:
        return None
    return int(model(keras.KerasTensor((None, *input_shape))).shape[-1])


def check_same_classes(teacher, student, input_shape=None):
    """Returns the class count both networks predict; a ValueError naming both when they differ.

    Args:
        teacher, student: `keras.Model`s mapping images to logits.
        input_shape: the image shape; None uses the shape of whichever network has one.

    Returns:
        The number of classes, or None while neither network has an input shape (check again
        with the first batch's shape).
    """
    input_shape = input_shape or input_shape_of(teacher) or input_shape_of(student)
    teacher_classes = predicted_classes(teacher, input_shape)
    student_classes = predicted_classes(student, input_shape)
    if teacher_classes is None or student_classes is None:
        return None
    if teacher_classes != student_classes:
        raise ValueError(
            f"teacher predicts {teacher_classes} classes but student predicts "
            f"{student_classes}: build the student with num_classes={teacher_classes}."
        )
    return teacher_classes

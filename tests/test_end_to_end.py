"""A small network learns a real task end to end: EMNIST digits (``mnist`` split)."""

from __future__ import annotations

import numpy as np

from nnlib import Adam, SoftmaxCrossEntropy, fit, mlp
from nnlib.data import load_emnist
from nnlib.metrics import accuracy


def test_mlp_learns_emnist_digits(offline_zip: str) -> None:
    """One hidden layer, 3 epochs on 10,000 real training images: > 93% on the 10,000
    test images.

    A model that learned nothing scores about 10%; a linear classifier on raw pixels
    about 90%.
    """
    data = load_emnist("mnist", path=offline_zip, verbose=False)
    x_train, y_train = data.x_train[:10_000], data.y_train[:10_000]
    model = mlp(784, [128], 10, rng=0)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        Adam(1e-3),
        x_train,
        y_train,
        epochs=3,
        batch_size=64,
        rng=0,
        progress=False,
    )
    assert history.train_loss[-1] < history.train_loss[0]
    test_accuracy = accuracy(data.y_test, model.predict(data.x_test))
    assert test_accuracy > 0.93, test_accuracy
    assert (
        np.unique(model.predict(data.x_test)).size == 10
    )  # every digit is predicted somewhere

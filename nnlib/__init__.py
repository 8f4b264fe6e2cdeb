"""nnlib: a neural network from scratch in NumPy, written to be read.

The package follows the book's chapters, one module per idea:

=================  ==========================================================
``dense``          ``Dense``: the fully connected layer
``activations``    ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``
``dropout``        ``Dropout``: inverted dropout
``losses``         ``SoftmaxCrossEntropy``, ``MeanSquaredError``
``model``          ``Sequential`` and the ``mlp`` builder
``optimizers``     ``SGD`` (with momentum), ``RMSProp``, ``Adam``
``schedules``      learning-rate schedules
``training``       ``fit`` and ``evaluate``; ``History``; ``callbacks``
``metrics``        accuracy, precision, recall, F1, confusion matrix
``gradcheck``      finite-difference gradient checks
``data``           EMNIST loading (``idx`` parses the file format)
``plots``          learning curves, confusion matrix, image grids
``report``         one self-contained HTML report plus ``metrics.json``
``tuning``         grid and random search, in parallel through joblib
``cli``            the command line, ``python -m nnlib train|evaluate|tune``
=================  ==========================================================
"""

from .activations import LeakyReLU, ReLU, Sigmoid, Tanh
from .callbacks import Callback, EarlyStopping, ModelCheckpoint
from .dense import Dense
from .dropout import Dropout
from .history import History
from .layer import Layer, Parameter
from .losses import Loss, MeanSquaredError, SoftmaxCrossEntropy
from .model import Sequential, mlp
from .optimizers import SGD, Adam, Optimizer, RMSProp
from .training import evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adam",
    "Callback",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "History",
    "Layer",
    "LeakyReLU",
    "Loss",
    "MeanSquaredError",
    "ModelCheckpoint",
    "Optimizer",
    "Parameter",
    "RMSProp",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "evaluate",
    "fit",
    "mlp",
]

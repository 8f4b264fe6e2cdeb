"""nnlib: a neural network from scratch in NumPy, written to be read.

The package follows the book's chapters, one module per idea:

=======================  ====================================================
``layer``                ``Layer`` and ``Parameter``: what every layer provides
``dense``                ``Dense``: the fully connected layer
``activations``          ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``
``dropout``              ``Dropout``: inverted dropout
``losses``               ``SoftmaxCrossEntropy``, ``MeanSquaredError``
``model``                ``Sequential`` and the ``mlp`` builder
``serialization``        saving and loading weights (``.npz``, never pickled)
``optimizers``           ``SGD`` (with momentum), ``RMSProp``, ``Adam``, ``AdamW``
``schedules``            learning-rate schedules
``batching``             shuffled mini-batches, scaled one batch at a time
``training``             ``fit`` and ``evaluate``
``history``              ``History``: per-epoch metrics, saved as JSON
``callbacks``            ``EarlyStopping``, ``ModelCheckpoint``
``checkpoint``           a run's whole state in one file, for resuming
``metrics``              accuracy, precision, recall, F1, confusion matrix
``regression_metrics``   MSE, MAE and R² of real-valued predictions
``gradcheck``            finite-difference gradient checks
``idx``                  the IDX file format of (E)MNIST
``emnist``               the EMNIST splits and their label mappings
``download``             finding or downloading NIST's archive
``preprocessing``        images to float32 in [0, 1], a validation split
``data``                 ``load_emnist``: the data set, ready to train on
``plots``                learning curves, confusion matrix, image grids
``report``               the evaluation summary and ``metrics.json``
``report_html``          the self-contained HTML report (``report_style``: its CSS)
``tuning``               grid and random search (joblib or a Dask cluster)
``runlock``              one process at a time per run directory
``booktools``            helpers of the book's chapters (figures, checks)
``cli``                  the command line, ``python -m nnlib train|evaluate|tune``
=======================  ====================================================
"""

from .activations import LeakyReLU, ReLU, Sigmoid, Tanh
from .callbacks import Callback, EarlyStopping, ModelCheckpoint
from .dense import Dense
from .dropout import Dropout
from .history import History
from .layer import Layer, Parameter
from .losses import Loss, MeanSquaredError, SoftmaxCrossEntropy
from .model import Sequential, mlp
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSProp
from .training import evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
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

"""Does nnlib reach the accuracy of a PyTorch model of the same architecture and
hyperparameters?

Both frameworks train the book's model (784-512-256-47, ReLU, dropout 0.2 after each
hidden layer, softmax cross-entropy, Adam lr 1e-3, batch 128, float32) on the same
images, with the same initialization scheme (He normal weights and zero biases for the
hidden layers, Glorot uniform for the output layer), the same batches in the same order
(the permutation ``nnlib.fit`` draws from the seed), for the same number of epochs. Test
accuracies are averaged over several seeds; the target is a difference of at most half a
point.

Data: the full EMNIST ``balanced`` split when it is present (train 112,800 / test
18,800, with a stratified 10% of train held out for validation). Here the offline copy
holds only 9,120 + 304 balanced images, so the ``bymerge`` test part is used instead
(116,323 real images, 47 classes, complete): its last 18,800 images are the test set,
the first 97,523 are split (stratified, 10%) into train and validation.

PyTorch is optional: without it the script says so and exits 0. Run from the repository
root::

    python benchmarks/bench_torch_accuracy.py  # 3 seeds x 5 epochs (10-25 min)
    python benchmarks/bench_torch_accuracy.py --epochs 2 --seeds 1  # quick check
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import blas_env  # noqa: E402

blas_env.use_native_kernel()  # before NumPy loads OpenBLAS: see blas_env.py

import common  # noqa: E402
import numpy as np  # noqa: E402
from common import BATCH, DROPOUT, HIDDEN, LR, N_CLASSES, N_EVAL, torch  # noqa: E402

import nnlib  # noqa: E402
from nnlib import data as nndata  # noqa: E402


def load_split() -> tuple[tuple[np.ndarray, ...], str]:
    """(x_train, y_train, x_val, y_val, x_test, y_test) of uint8 images, and a
    description."""
    balanced = nndata.load_emnist("balanced", download=False, verbose=False)
    if balanced.source.train_complete and balanced.source.test_complete:
        x, y, x_test, y_test = (
            balanced.x_train,
            balanced.y_train,
            balanced.x_test,
            balanced.y_test,
        )
        desc = (
            "EMNIST balanced: train 112,800 (90% train / 10% val, stratified), "
            "test 18,800"
        )
    else:
        d = nndata.load_emnist("bymerge", download=False, verbose=False)
        cut = len(d.x_test) - N_EVAL
        x, y, x_test, y_test = (
            d.x_test[:cut],
            d.y_test[:cut],
            d.x_test[cut:],
            d.y_test[cut:],
        )
        desc = (
            "EMNIST bymerge test part (balanced incomplete in the offline copy): "
            "images "
            f"[0, {cut:,}) split 90/10 (stratified) into train/val, images [{cut:,}, "
            f"{len(d.x_test):,}) = test ({N_EVAL:,})"
        )
    x_train, y_train, x_val, y_val = nndata.train_val_split(
        x, y, val_fraction=0.1, rng=0
    )
    return (x_train, y_train, x_val, y_val, x_test, y_test), desc


def train_nnlib(
    split: tuple[np.ndarray, ...], epochs: int, seed: int
) -> tuple[float, float]:
    x_train, y_train, x_val, y_val, x_test, y_test = split
    model = nnlib.mlp(784, list(HIDDEN), N_CLASSES, dropout=DROPOUT, rng=seed)
    hist = nnlib.fit(
        model,
        nnlib.SoftmaxCrossEntropy(),
        nnlib.Adam(LR),
        x_train,
        y_train,
        epochs=epochs,
        batch_size=BATCH,
        validation_data=(x_val, y_val),
        rng=seed,
        progress=False,
    )
    test_acc = float(np.mean(model.predict(x_test) == y_test))
    return hist.val_accuracy[-1], test_acc


def torch_model(seed: int):
    """Same architecture and init scheme as ``nnlib.mlp`` (He normal / zero bias; Glorot
    last)."""
    nn = torch.nn
    torch.manual_seed(seed)
    layers: list = []
    for a, b in itertools.pairwise([784, *HIDDEN]):
        linear = nn.Linear(a, b)
        nn.init.kaiming_normal_(
            linear.weight, nonlinearity="relu"
        )  # std sqrt(2 / fan_in)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU(), nn.Dropout(DROPOUT)]
    last = nn.Linear(HIDDEN[-1], N_CLASSES)
    nn.init.xavier_uniform_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


def torch_accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.inference_mode():
        xt = torch.from_numpy(x.reshape(len(x), -1)).to(torch.float32).mul_(1 / 255)
        return float((model(xt).argmax(1) == torch.from_numpy(y)).float().mean())


def train_torch(
    split: tuple[np.ndarray, ...], epochs: int, seed: int
) -> tuple[float, float]:
    x_train, y_train, x_val, y_val, x_test, y_test = split
    model = torch_model(seed)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.from_numpy(x_train.reshape(len(x_train), -1))
    y = torch.from_numpy(y_train)
    rng = np.random.default_rng(seed)  # the batch order nnlib.fit(rng=seed) uses
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(x_train))
        for start in range(0, len(x_train), BATCH):
            idx = torch.from_numpy(np.sort(order[start : start + BATCH]))
            opt.zero_grad()
            loss = loss_fn(model(x[idx].to(torch.float32).mul_(1 / 255)), y[idx])
            loss.backward()
            opt.step()
    return torch_accuracy(model, x_val, y_val), torch_accuracy(model, x_test, y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=HERE / "results" / "bench_torch_accuracy.txt"
    )
    args = parser.parse_args()
    if torch is None:
        print(
            "torch is not installed: skipping the accuracy comparison with PyTorch "
            "(install torch in a separate venv, see benchmarks/README.md)"
        )
        return
    args.out.parent.mkdir(exist_ok=True)
    with open(args.out, "w") as out:

        def log(line: str) -> None:
            print(line, flush=True)
            out.write(line + "\n")

        split, desc = load_split()
        log(
            f"bench_torch_accuracy.py --epochs {args.epochs} --seeds {args.seeds}  "
            f"({time.strftime('%Y-%m-%d %H:%M:%S')})"
        )
        log("machine: " + common.machine_line())
        log(
            f"data: {desc}; sizes train {len(split[1]):,}, val {len(split[3]):,}, "
            f"test {len(split[5]):,}"
        )
        log(
            f"model: 784-512-256-47 ReLU, dropout {DROPOUT}, Adam lr {LR}, batch "
            f"{BATCH}, "
            f"{args.epochs} epochs; He normal/zero bias, Glorot uniform output layer"
        )
        log(
            f"{'seed':>4s} {'nnlib val':>9s} {'nnlib test':>10s} {'torch val':>9s} "
            f"{'torch test':>10s} {'diff (pts)':>10s}"
        )
        diffs, nn_tests, th_tests = [], [], []
        for seed in range(args.seeds):
            nv, nt = train_nnlib(split, args.epochs, seed)
            tv, tt = train_torch(split, args.epochs, seed)
            diffs.append(100 * (nt - tt))
            nn_tests.append(nt)
            th_tests.append(tt)
            log(
                f"{seed:4d} {nv:9.2%} {nt:10.2%} {tv:9.2%} {tt:10.2%} "
                f"{diffs[-1]:+10.2f}"
            )
        mean_diff = statistics.mean(diffs)
        ok = abs(mean_diff) <= 0.5
        log(
            f"mean test accuracy: nnlib {statistics.mean(nn_tests):.2%}, PyTorch "
            f"{statistics.mean(th_tests):.2%}; difference {mean_diff:+.2f} points "
            f"(seeds: {', '.join(f'{d:+.2f}' for d in diffs)})"
        )
        log(
            f"{'PASS' if ok else 'FAIL'}  |nnlib - PyTorch| test accuracy <= 0.5 "
            "points "
            f"(mean over {args.seeds} seeds): {abs(mean_diff):.2f}"
        )


if __name__ == "__main__":
    main()

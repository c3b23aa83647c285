"""Writes the fixtures of StoredGraphCertificatesTest with PyTorch (Debian's python3-torch; not needed at test time):
a conv net with batch norm (opset 13) and a small ResNet (opset 17), each trained briefly on the bundled MNIST
slice and exported as PyTorch exports them (float32 constants, BatchNormalization kept as a node), and, beside each,
the TRUE margins of the stored graph on the first 100 bundled test images, computed by the model's float64 twin:

    <name>.onnx           the stored graph
    <name>.margins.json   per example: prediction, region margins eps_l1 / eps_l2 / eps_linf and decision margins
                          dec_l1 / dec_l2 / dec_linf (raw pixel units, as the tool reports them)
    <name>.witness.npy    per example (float32, 100 x 784): the unit l2 direction in which the binding neuron of the
                          stored graph moves towards its threshold fastest (the ball's farthest reach into it)

The twin is the exported module with every parameter and buffer widened to float64 (exactly: they are float32) and
each batch norm's epsilon set to the float32 the file stores, so it computes the stored graph's function. Its
neurons are the inputs of every ReLU; their input-gradients come from forward-mode automatic differentiation
(torch.autograd.functional.jacobian), independent of the tool's import and of its linearisation.

    /usr/bin/python3 src/test/resources/onnx/make_stored_graph_fixtures.py
"""
import gzip
import json
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..", "..", "data", "mnist")
torch.manual_seed(0)
torch.set_num_threads(1)
EXAMPLES = 100


def idx_images(name, n):
    with gzip.open(os.path.join(ROOT, name)) as f:
        raw = f.read()
    count = int.from_bytes(raw[4:8], "big") if n is None else n
    return torch.tensor(np.frombuffer(raw[16:16 + count * 784], dtype=np.uint8).astype(np.float32)
                        .reshape(count, 1, 28, 28) / 255.0)


def idx_labels(name, n):
    with gzip.open(os.path.join(ROOT, name)) as f:
        raw = f.read()
    count = int.from_bytes(raw[4:8], "big") if n is None else n
    return torch.tensor(np.frombuffer(raw[8:8 + count], dtype=np.uint8).astype(np.int64))


class Normalize(nn.Module):
    """(x - mean) / std with float32 buffers, exported as Sub and Div by float32 constants."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.1307]))
        self.register_buffer("std", torch.tensor([0.3081]))

    def forward(self, x):
        return (x - self.mean) / self.std


class Block(nn.Module):
    """relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)), the shortcut identity or 1x1 conv + bn."""

    def __init__(self, cin, cout):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout))
        self.shortcut = nn.Identity() if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
        self.join = nn.ReLU()

    def forward(self, x):
        return self.join(self.main(x) + self.shortcut(x))


def cnn():
    return nn.Sequential(Normalize(), nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 10))


def resnet():
    return nn.Sequential(Normalize(), nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(2),
                         Block(8, 8), Block(8, 12), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12 * 7 * 7, 10))


def train(model, x, y, epochs=2, batch=64):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for s in range(0, len(x), batch):
            b = order[s:s + batch]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    model.eval()


def twin(model):
    """The float64 twin: parameters and buffers widened exactly, epsilons the float32 the file stores."""
    import copy
    t = copy.deepcopy(model).double().eval()
    for m in t.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = float(np.float32(m.eps))
    return t


def true_margins(model, images):
    """Region and decision margins of the stored graph, in raw input units, and the l2 witness directions."""
    t = twin(model)
    captured = []
    for m in t.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(lambda mod, inp, out: captured.append(inp[0].flatten(1)))

    def neurons_and_logits(x):
        captured.clear()
        logits = t(x.reshape(1, 1, 28, 28))
        return torch.cat(captured + [logits], dim=1)[0]

    out = {k: [] for k in ("pred", "eps_l1", "eps_l2", "eps_linf", "dec_l1", "dec_l2", "dec_linf")}
    witness = np.zeros((len(images), 784), dtype=np.float32)
    with torch.no_grad():
        for i, img in enumerate(images):
            x = img.reshape(784).double()
            v = neurons_and_logits(x)
            jac = torch.autograd.functional.jacobian(neurons_and_logits, x, vectorize=True, strategy="forward-mode")
            z, g = v[:-10], jac[:-10]
            logits, gl = v[-10:], jac[-10:]
            live = g.abs().sum(dim=1) > 0  # a neuron with no input-gradient never binds
            z, g = z[live], g[live]
            # the lp ball of radius r stays inside |z_j + g_j . d| > 0 iff r < |z_j| / ||g_j||_q (q the dual norm)
            for name, q in (("eps_l1", float("inf")), ("eps_l2", 2.0), ("eps_linf", 1.0)):
                out[name].append(float((z.abs() / torch.linalg.vector_norm(g, ord=q, dim=1)).min()))
            r2 = z.abs() / torch.linalg.vector_norm(g, ord=2, dim=1)
            j = int(torch.argmin(r2))
            witness[i] = (-torch.sign(z[j]) * g[j] / torch.linalg.vector_norm(g[j])).numpy().astype(np.float32)
            c = int(torch.argmax(logits))
            out["pred"].append(c)
            others = [k for k in range(10) if k != c]
            gap = logits[c] - logits[others]
            dg = gl[c] - gl[others]
            for name, q in (("dec_l1", float("inf")), ("dec_l2", 2.0), ("dec_linf", 1.0)):
                out[name].append(float((gap / torch.linalg.vector_norm(dg, ord=q, dim=1)).min()))
    return out, witness


def fixture(name, model, opset, train_x, train_y, test_x):
    train(model, train_x, train_y)
    path = os.path.join(HERE, name + ".onnx")
    # PRESERVE keeps each BatchNormalization a node with its own epsilon (EVAL would fold it into the Conv)
    torch.onnx.export(model, test_x[:1], path, opset_version=opset, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}}, training=torch.onnx.TrainingMode.PRESERVE)
    margins, witness = true_margins(model, test_x)
    margins.update({"opset": opset, "examples": len(test_x), "images": "data/mnist/t10k-images-idx3-ubyte.gz, the first "
                    + str(len(test_x)), "units": "raw pixels / 255", "twin": "float64, forward-mode autodiff"})
    with open(os.path.join(HERE, name + ".margins.json"), "w") as f:
        json.dump(margins, f)
    np.save(os.path.join(HERE, name + ".witness.npy"), witness)
    acc = float((torch.tensor(margins["pred"]) == test_y).float().mean())
    print(name, "accuracy on the", len(test_x), "images:", acc, "median eps_l2:", float(np.median(margins["eps_l2"])))


train_x = idx_images("train-images-idx3-ubyte.gz", None)
train_y = idx_labels("train-labels-idx1-ubyte.gz", None)
test_x = idx_images("t10k-images-idx3-ubyte.gz", EXAMPLES)
test_y = idx_labels("t10k-labels-idx1-ubyte.gz", EXAMPLES)
fixture("mnist_cnn_bn", cnn(), 13, train_x, train_y, test_x)
fixture("mnist_resnet", resnet(), 17, train_x, train_y, test_x)

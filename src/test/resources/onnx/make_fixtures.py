"""Writes the ONNX fixtures of OnnxImportTest with PyTorch's exporter (Debian's python3-torch; not needed
at test time): each model.onnx beside model.json holding a few inputs and PyTorch's logits for them.

    /usr/bin/python3 src/test/resources/onnx/make_fixtures.py
"""
import gzip
import json
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)


class Normalize(nn.Module):
    """The input normalisation a user writes: (x - mean) / std, exported as Sub and Div."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        return (x - self.mean) / self.std


def export(name, model, inputs, opset):
    model.eval()
    path = os.path.join(HERE, name + ".onnx")
    torch.onnx.export(model, inputs[:1], path, opset_version=opset, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
    with torch.no_grad():
        logits = model(inputs)
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"opset": opset, "inputs": inputs.tolist(), "logits": logits.tolist()}, f)


d = 20
x = torch.rand(8, d)
mean = torch.rand(d) * 0.5
std = torch.rand(d) + 0.5
# an MLP with its normalisation (Sub, Div), Flatten, Gemm and Relu; opset 17 (current exporters)
export("mlp_relu", nn.Sequential(Normalize(mean, std), nn.Flatten(), nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, 12),
                                 nn.ReLU(), nn.Linear(12, 3)), x, 17)
# LeakyRelu 0.1, Dropout, a trailing Softmax (dropped on import); opset 9 (the oldest supported)
export("mlp_leaky_softmax", nn.Sequential(nn.Linear(d, 10), nn.LeakyReLU(0.1), nn.Dropout(0.5), nn.Linear(10, 4),
                                          nn.LeakyReLU(0.1), nn.Linear(4, 3), nn.Softmax(dim=1)), x, 9)
# refused: a sigmoid has no linear regions
export("mlp_sigmoid", nn.Sequential(nn.Linear(d, 8), nn.Sigmoid(), nn.Linear(8, 3)), x, 13)


class Image(nn.Module):
    def forward(self, x):
        return x.reshape(-1, 1, 4, 5)


# refused: max pooling
export("conv_maxpool", nn.Sequential(Image(), nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(),
                                     nn.Linear(8, 3)), x, 13)


# a conv net: Conv (padding 1) + BatchNormalization (inference, non-trivial statistics) + Relu + AveragePool
# + Conv (stride 2) + Relu + GlobalAveragePool + Flatten + Gemm, on (1, 8, 8) images; opset 13
conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
                     nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.LeakyReLU(0.05), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                     nn.Linear(6, 3))
with torch.no_grad():
    conv[1].running_mean.uniform_(-0.2, 0.2)
    conv[1].running_var.uniform_(0.5, 1.5)
    conv[1].weight.uniform_(0.5, 1.5)
    conv[1].bias.uniform_(-0.1, 0.1)
export("conv_bn_pool", conv, torch.rand(6, 1, 8, 8), 13)

class Block(nn.Module):
    """A residual block: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)), the shortcut identity or 1x1 conv + bn."""

    def __init__(self, cin, cout):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout))
        self.shortcut = nn.Identity() if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


# a small ResNet: a stem, an identity block, a block with a 1x1 conv shortcut, global pooling; opset 17
resnet = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), Block(4, 4), Block(4, 6), nn.AdaptiveAvgPool2d(1),
                       nn.Flatten(), nn.Linear(6, 3))
with torch.no_grad():
    for m in resnet.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
export("resnet_blocks", resnet, torch.rand(5, 1, 8, 8), 17)

# a 784-32-10 MNIST net (untrained, seeded) with the usual normalisation, for `certify --model m.onnx` on the
# bundled test images: PyTorch's predictions for the first 200 of them
root = os.path.join(HERE, "..", "..", "..", "..", "data", "mnist")
with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
    raw = f.read()
n = 200
images = torch.tensor(list(raw[16:16 + n * 784]), dtype=torch.float32).reshape(n, 784) / 255.0
mnist = nn.Sequential(Normalize(torch.full((784,), 0.1307), torch.full((784,), 0.3081)), nn.Linear(784, 32), nn.ReLU(),
                      nn.Linear(32, 10))
mnist.eval()
path = os.path.join(HERE, "mnist_mlp.onnx")
torch.onnx.export(mnist, images[:1], path, opset_version=17, input_names=["x"], output_names=["logits"],
                  dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
with torch.no_grad():
    pred = mnist(images).argmax(dim=1)
with open(os.path.join(HERE, "mnist_mlp.json"), "w") as f:
    json.dump({"opset": 17, "examples": n, "pred": pred.tolist()}, f)


class ReluRnn(nn.Module):
    """A ReLU RNN (PyTorch's two biases), its last state to a linear layer; the last state read from h_n or y."""

    def __init__(self, features, hidden, batch_first, from_y, norm=None):
        super().__init__()
        self.norm = norm if norm is not None else nn.Identity()
        self.rnn = nn.RNN(features, hidden, nonlinearity="relu", batch_first=batch_first)
        self.fc = nn.Linear(hidden, 3)
        self.batch_first = batch_first
        self.from_y = from_y

    def forward(self, x):
        y, h = self.rnn(self.norm(x))
        if not self.from_y:
            return self.fc(h[-1])
        return self.fc(y[:, -1, :] if self.batch_first else y[-1])


def export_rnn(name, model, x, opset):
    """x is (N, T, F); a time-major model (batch_first False) is exported and run on (T, N, F)."""
    model.eval()
    feed = x if model.batch_first else x.transpose(0, 1)
    batch_axis = 0 if model.batch_first else 1
    torch.onnx.export(model, feed[:1] if model.batch_first else feed[:, :1], os.path.join(HERE, name + ".onnx"),
                      opset_version=opset, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {batch_axis: "n"}, "logits": {0: "n"}})
    with torch.no_grad():
        logits = model(feed)
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"opset": opset, "inputs": x.tolist(), "logits": logits.tolist()}, f)


seq = torch.rand(6, 4, 5)  # 6 sequences of 4 steps x 5 features
# h_n[-1] (Slice + Squeeze at opset 9) behind a per-feature normalisation broadcast over the steps
export_rnn("rnn_relu", ReluRnn(5, 7, True, False, Normalize(torch.rand(5) * 0.3, torch.rand(5) + 0.5)), seq, 9)
# y[:, -1] (Squeeze, Transpose, Gather) at opset 14
export_rnn("rnn_relu_last_step", ReluRnn(5, 7, True, True), seq, 14)
# time-major (batch_first False, PyTorch's default): the input is (T, N, F); y[-1] at opset 17
export_rnn("rnn_relu_time_major", ReluRnn(5, 6, False, True), seq, 17)
# refused: a tanh RNN has no linear regions
tanh = ReluRnn(5, 4, True, False)
tanh.rnn = nn.RNN(5, 4, batch_first=True)
export_rnn("rnn_tanh", tanh, seq, 13)

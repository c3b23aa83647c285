package org.rollspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rollspark.util.Host;

/** Optimisers against plain-Java transcriptions of PyTorch's update rules. */
class OptimizerTest {
    static final int N = 37;

    static double[] randn(SplittableRandom r) {
        double[] v = new double[N];
        for (int i = 0; i < N; i++) {
            v[i] = r.nextDouble() * 2 - 1;
        }
        return v;
    }

    @Test
    void sgdNesterovAndMomentumFollowPytorch() {
        for (boolean nesterov : new boolean[] {true, false}) {
            SplittableRandom r = new SplittableRandom(1);
            double lr = 0.05;
            double mu = 0.5;
            double[] p = randn(r);
            double[] v = new double[N];
            INDArray params = Host.array(p, DataType.DOUBLE, N);
            Optimizer opt = new Sgd(N, DataType.DOUBLE, lr, mu, nesterov);
            for (int t = 0; t < 5; t++) {
                double[] g = randn(r);
                opt.step(params, Host.array(g, DataType.DOUBLE, N));
                for (int i = 0; i < N; i++) {
                    v[i] = mu * v[i] + g[i];
                    p[i] -= lr * (nesterov ? g[i] + mu * v[i] : v[i]);
                }
            }
            assertArrayEquals(p, Host.pull(params), 1e-12);
        }
    }

    @Test
    void adamAndAmsgradFollowPytorch() {
        for (boolean ams : new boolean[] {false, true}) {
            SplittableRandom r = new SplittableRandom(2);
            double lr = 0.01;
            double b1 = 0.9;
            double b2 = 0.999;
            double eps = 1e-8;
            double[] p = randn(r);
            double[] m = new double[N];
            double[] v = new double[N];
            double[] vmax = new double[N];
            INDArray params = Host.array(p, DataType.DOUBLE, N);
            Optimizer opt = new Adam(N, DataType.DOUBLE, lr, b1, b2, eps, ams);
            for (int t = 1; t <= 6; t++) {
                double[] g = randn(r);
                // larger gradients early so AMSGrad's running maximum differs from v
                for (int i = 0; i < N; i++) {
                    g[i] *= t == 1 ? 10 : 1;
                }
                opt.step(params, Host.array(g, DataType.DOUBLE, N));
                for (int i = 0; i < N; i++) {
                    m[i] = b1 * m[i] + (1 - b1) * g[i];
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                    vmax[i] = Math.max(vmax[i], v[i]);
                    double second = ams ? vmax[i] : v[i];
                    double denom = Math.sqrt(second / (1 - Math.pow(b2, t))) + eps;
                    p[i] -= lr / (1 - Math.pow(b1, t)) * m[i] / denom;
                }
            }
            assertArrayEquals(p, Host.pull(params), 1e-12);
        }
    }

    @Test
    void badSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Sgd(3, DataType.FLOAT, 0, 0.5, true));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(3, DataType.FLOAT, 0.1, 1.0, true));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(3, DataType.FLOAT, 0.1, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new Adam(3, DataType.FLOAT, 0.1, 1.0, 0.9, 1e-8, false));
        assertThrows(IllegalArgumentException.class, () -> new TrainConfig(1, 1, 1, "rmsprop", 0.1, 0, null, 1));
    }
}

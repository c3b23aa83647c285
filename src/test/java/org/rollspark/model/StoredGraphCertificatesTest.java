package org.rollspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.rollspark.net.Network;
import org.rollspark.net.Npy;
import org.rollspark.region.Certification;
import org.rollspark.region.Norm;
import org.rollspark.region.RegionCertifier;
import org.rollspark.util.Host;

/**
 * Certificates of imported ONNX models hold for the network the file stores. PyTorch-exported fixtures (a conv net
 * with batch norm at opset 13, a small ResNet at opset 17; src/test/resources/onnx/make_stored_graph_fixtures.py)
 * come with the TRUE margins of the stored graph on 100 MNIST test images, computed by the model's float64 twin
 * (forward-mode autodiff, every constant the stored float32). For every example and norm, the margin the tool
 * reports is at most the true one and within 2e-4 below it (its documented float32 shrink is 1e-4), for region and
 * decision margins alike; and a point just inside the reported l2 ball, in the direction the stored graph's binding
 * neuron moves fastest, keeps the stored graph's activation pattern, evaluated by {@link StoredGraph} (float64,
 * straight from the file, no code shared with the import), while a point just beyond the true margin changes it.
 */
class StoredGraphCertificatesTest {
    static final Path DIR = Path.of("src/test/resources/onnx");

    /** The first {@code n} bundled MNIST test images as raw pixels / 255, in float32 as PyTorch computes them. */
    static float[] images(int n) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(Path.of("data/mnist/t10k-images-idx3-ubyte.gz")))) {
            byte[] head = in.readNBytes(16);
            assertEquals(0x803, java.nio.ByteBuffer.wrap(head).getInt());
            byte[] px = in.readNBytes(n * 784);
            float[] x = new float[px.length];
            for (int i = 0; i < px.length; i++) {
                x[i] = (float) (px[i] & 0xff) / 255f;
            }
            return x;
        }
    }

    /** The fixture's true margins, its images, and the tool's certificates of the imported file. */
    record Fixture(JsonNode truth, int n, float[] x, Certification c) {
        static Fixture of(String name) throws IOException {
            JsonNode truth = new ObjectMapper().readTree(DIR.resolve(name + ".margins.json").toFile());
            int n = truth.get("examples").asInt();
            float[] x = images(n);
            Network net = OnnxImport.load(DIR.resolve(name + ".onnx")).network();
            return new Fixture(truth, n, x, new RegionCertifier(net).certify(Host.array(toDouble(x), DataType.FLOAT, n,
                    784), null));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mnist_cnn_bn", "mnist_resnet"})
    void certificatesHoldForTheStoredGraph(String name) throws IOException {
        Fixture f = Fixture.of(name);
        everyReportedMarginIsAtMostTheStoredGraphsAndWithin2e4OfIt(f);
        aPointJustInsideEachReportedBallKeepsTheStoredGraphsPattern(f, name);
    }

    private static void everyReportedMarginIsAtMostTheStoredGraphsAndWithin2e4OfIt(Fixture f) {
        JsonNode truth = f.truth();
        Certification c = f.c();
        int n = f.n();
        List<String> above = new ArrayList<>();
        List<String> loose = new ArrayList<>();
        int checked = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(truth.get("pred").get(i).asInt(), c.pred(i), "prediction of example " + i);
            for (Norm p : Norm.values()) {
                String suffix = p.name().toLowerCase(java.util.Locale.ROOT);
                check(i, "eps_" + suffix, c.margin(p, i), truth.get("eps_" + suffix).get(i).asDouble(), above, loose);
                check(i, "dec_" + suffix, c.decisionMargin(p, i), truth.get("dec_" + suffix).get(i).asDouble(), above,
                        loose);
                checked += 2;
            }
        }
        assertEquals(6 * n, checked);
        assertTrue(above.isEmpty(), above.size() + " of " + checked + " reported margins are above the stored graph's "
                + "true margin: " + above.subList(0, Math.min(5, above.size())));
        assertTrue(loose.isEmpty(), loose.size() + " of " + checked + " reported margins are more than 2e-4 below the "
                + "true margin: " + loose.subList(0, Math.min(5, loose.size())));
    }

    private static void check(int i, String what, double reported, double truth, List<String> above, List<String> loose) {
        String at = "example " + i + " " + what + ": reported " + reported + ", true " + truth;
        if (!(reported <= truth)) {
            above.add(at);
        } else if (!(reported >= truth * (1 - 2e-4))) {
            loose.add(at);
        }
    }

    private static void aPointJustInsideEachReportedBallKeepsTheStoredGraphsPattern(Fixture f, String name)
            throws IOException {
        JsonNode truth = f.truth();
        int n = f.n();
        float[] x = f.x();
        Certification c = f.c();
        double[] directions = Npy.read(DIR.resolve(name + ".witness.npy")).data();
        StoredGraph stored = new StoredGraph(DIR.resolve(name + ".onnx"));
        List<String> inside = new ArrayList<>();
        List<String> beyond = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] xi = new double[784];
            double[] u = new double[784];
            double norm = 0;
            for (int k = 0; k < 784; k++) {
                xi[k] = x[i * 784 + k];
                u[k] = directions[i * 784 + k];
                norm += u[k] * u[k];
            }
            norm = Math.sqrt(norm);
            boolean[] pattern = stored.run(xi, 1, 28, 28).pattern();
            double reported = c.margin(Norm.L2, i);
            double trueMargin = truth.get("eps_l2").get(i).asDouble();
            if (!java.util.Arrays.equals(pattern, stored.run(along(xi, u, (1 - 1e-6) * reported / norm), 1, 28, 28)
                    .pattern())) {
                inside.add("example " + i + " (reported eps_l2 " + reported + ", true " + trueMargin + ")");
            }
            if (java.util.Arrays.equals(pattern, stored.run(along(xi, u, (1 + 1e-3) * trueMargin / norm), 1, 28, 28)
                    .pattern())) {
                beyond.add("example " + i);
            }
        }
        assertTrue(inside.isEmpty(), inside.size() + " of " + n + " witness points inside a reported l2 ball change the "
                + "stored graph's activation pattern: " + inside.subList(0, Math.min(5, inside.size())));
        assertTrue(beyond.isEmpty(), "just beyond the true margin the pattern must change, but does not for " + beyond);
    }

    private static double[] along(double[] x, double[] u, double t) {
        double[] y = new double[x.length];
        for (int k = 0; k < x.length; k++) {
            y[k] = x[k] + t * u[k];
        }
        return y;
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }
}

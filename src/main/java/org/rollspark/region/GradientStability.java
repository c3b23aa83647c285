package org.rollspark.region;

import static org.rollspark.config.Setting.Type.DOUBLE;
import static org.rollspark.config.Setting.Type.INT;
import static org.rollspark.config.Setting.Type.LONG;
import static org.rollspark.config.Setting.atLeast;
import static org.rollspark.config.Setting.finiteAtLeast;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.rollspark.config.Setting;
import org.rollspark.net.Network;
import org.rollspark.util.Host;

/**
 * Gradient stability (docs/METHOD.md section 3): for the logit of the true class y,
 * {@code Delta(x, x') = || grad_x f_y(x) - grad_x' f_y(x') ||_1} over
 * {@code B = {x' : ||x' - x||_inf <= eps}} intersected with the valid input box. The expected
 * distortion is the mean over uniform samples of B; the maximum is searched with the paper's genetic
 * algorithm: keep the top 25 % of a population, refill with random convex combinations of random
 * pairs of survivors (which stay in B, a convex set), repeat. Gradients are with respect to the RAW
 * input; eps and the box are in raw units.
 */
public final class GradientStability {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<Double> EPS = SETTINGS.add(Setting.of("certify.gradientEps", DOUBLE, 0.03125,
            "Gradient stability: the l_inf radius (the paper: 8/256).", finiteAtLeast(0)));
    public static final Setting<Double> BOX_LOW = SETTINGS.add(Setting.of("certify.gradientBoxLow", DOUBLE, 0.0,
            "Gradient stability: the valid input box's lower end (raw units)."));
    public static final Setting<Double> BOX_HIGH = SETTINGS.add(Setting.of("certify.gradientBoxHigh", DOUBLE, 1.0,
            "Gradient stability: the valid input box's upper end (raw units)."));
    public static final Setting<Integer> SAMPLES = SETTINGS.add(Setting.of("certify.gradientSamples", INT, 8000,
            "Gradient stability: uniform samples for the expected distortion.", atLeast(1)));
    public static final Setting<Integer> POPULATION = SETTINGS.add(Setting.of("certify.gradientPopulation", INT, 4800,
            "Gradient stability: population of the genetic search.", atLeast(0)));
    public static final Setting<Integer> GENERATIONS = SETTINGS.add(Setting.of("certify.gradientGenerations", INT, 30,
            "Gradient stability: generations of the genetic search.", atLeast(0)));
    public static final Setting<Long> SEED = SETTINGS.add(Setting.of("certify.gradientSeed", LONG, 0L,
            "Seeds the sampling and the genetic search (combined with each example's id)."));

    private final Network net;
    private final double eps;
    private final double boxLow;
    private final double boxHigh;

    /** The two statistics of one example. */
    public record Result(double expected, double maximum, long evaluations) {}

    public GradientStability(Network net, double eps, double boxLow, double boxHigh) {
        EPS.check(eps);
        checkBox(boxLow, boxHigh);
        this.net = net;
        this.eps = eps;
        this.boxLow = boxLow;
        this.boxHigh = boxHigh;
    }

    /** The valid input box must be a box: its lower end below its upper end (both settings checked together). */
    public static void checkBox(double boxLow, double boxHigh) {
        if (!(boxLow < boxHigh)) {
            throw new IllegalArgumentException(BOX_LOW + " must be below " + BOX_HIGH + "; got " + boxLow + " and "
                    + boxHigh);
        }
    }

    /**
     * Raw-unit input gradients of logit {@code cls} at each row of {@code points} (N, D), by
     * back-propagating through the network linearised at each point (GEMMs over the batch).
     */
    public double[] logitGradients(double[] points, int n, int cls) {
        int k = net.outputSize();
        double[] delta = new double[n * k];
        for (int i = 0; i < n; i++) {
            delta[i * k + cls] = 1;
        }
        return Host.pull(net.inputGradient(Host.array(points, net.dataType(), n, net.inputSize()),
                Host.array(delta, net.dataType(), n, k)));
    }

    /**
     * Both statistics for one example.
     *
     * @param samples uniform samples for the expected distortion (the paper: 8000)
     * @param population genetic search population (the paper: 4800); 0 skips the search
     * @param generations genetic search generations (the paper: 30)
     */
    public Result evaluate(double[] x, int label, int samples, int population, int generations, long seed) {
        int d = x.length;
        SplittableRandom rng = new SplittableRandom(seed);
        double[] g0 = logitGradients(x, 1, label);
        double[] pts = new double[samples * d];
        for (int i = 0; i < samples; i++) {
            for (int r = 0; r < d; r++) {
                double lo = Math.max(boxLow, x[r] - eps);
                double hi = Math.min(boxHigh, x[r] + eps);
                pts[i * d + r] = lo + (hi - lo) * rng.nextDouble();
            }
        }
        double[] dist = distortions(pts, samples, label, g0);
        double mean = Arrays.stream(dist).average().orElse(Double.NaN);
        double best = Arrays.stream(dist).max().orElse(0);
        long evals = samples;
        if (population > 0) {
            double[] pop = new double[population * d];
            System.arraycopy(pts, 0, pop, 0, Math.min(samples, population) * d);
            for (int i = samples; i < population; i++) {
                for (int r = 0; r < d; r++) {
                    double lo = Math.max(boxLow, x[r] - eps);
                    double hi = Math.min(boxHigh, x[r] + eps);
                    pop[i * d + r] = lo + (hi - lo) * rng.nextDouble();
                }
            }
            double[] fit = distortions(pop, population, label, g0);
            evals += population;
            int keep = Math.max(2, population / 4);
            for (int gen = 0; gen < generations; gen++) {
                Integer[] order = new Integer[population];
                for (int i = 0; i < population; i++) {
                    order[i] = i;
                }
                final double[] f = fit;
                Arrays.sort(order, (a, b) -> Double.compare(f[b], f[a]));
                double[] next = new double[population * d];
                double[] nextFit = new double[population];
                for (int i = 0; i < keep; i++) {
                    System.arraycopy(pop, order[i] * d, next, i * d, d);
                    nextFit[i] = fit[order[i]];
                }
                int children = population - keep;
                double[] kids = new double[children * d];
                for (int c = 0; c < children; c++) {
                    int a = order[rng.nextInt(keep)];
                    int b = order[rng.nextInt(keep)];
                    double t = rng.nextDouble();
                    for (int r = 0; r < d; r++) {
                        double v = t * pop[a * d + r] + (1 - t) * pop[b * d + r];
                        double lo = Math.max(boxLow, x[r] - eps);
                        double hi = Math.min(boxHigh, x[r] + eps);
                        kids[c * d + r] = Math.min(hi, Math.max(lo, v)); // clip into B
                    }
                }
                double[] kidFit = distortions(kids, children, label, g0);
                evals += children;
                System.arraycopy(kids, 0, next, keep * d, children * d);
                System.arraycopy(kidFit, 0, nextFit, keep, children);
                pop = next;
                fit = nextFit;
            }
            best = Math.max(best, Arrays.stream(fit).max().orElse(0));
        }
        return new Result(mean, best, evals);
    }

    private double[] distortions(double[] pts, int n, int label, double[] g0) {
        int d = g0.length;
        double[] out = new double[n];
        int chunk = 512;
        for (int from = 0; from < n; from += chunk) {
            int m = Math.min(chunk, n - from);
            double[] g = logitGradients(Arrays.copyOfRange(pts, from * d, (from + m) * d), m, label);
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int r = 0; r < d; r++) {
                    s += Math.abs(g[i * d + r] - g0[r]);
                }
                out[from + i] = s;
            }
        }
        return out;
    }
}

package org.rollspark.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import org.apache.spark.api.java.function.Function2;
import org.junit.jupiter.api.Test;

/**
 * The exchange between the tasks of a barrier stage, without Spark: workers are threads, the all-gather a
 * latch. Its sums must be TreeSum's bits, whatever the worker count and the missing results.
 */
class TreeExchangeTest {
    static final Function2<double[], double[], double[]> ADD = (a, b) -> new double[] {a[0] + b[0]};

    static final TreeExchange.Codec<double[]> CODEC = new TreeExchange.Codec<>() {
        @Override
        public void write(Frame out, double[] v) {
            out.putDouble(v[0]);
        }

        @Override
        public double[] read(java.nio.ByteBuffer in) {
            return new double[] {in.getDouble()};
        }
    };

    /** An all-gather among {@code n} threads. */
    static Function<String, String[]> allGather(int n, AtomicReferenceArray<String> slots, CountDownLatch all, int me) {
        return mine -> {
            slots.set(me, mine);
            all.countDown();
            try {
                assertTrue(all.await(60, TimeUnit.SECONDS), "all-gather");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            String[] out = new String[n];
            for (int i = 0; i < n; i++) {
                out[i] = slots.get(i);
            }
            return out;
        };
    }

    interface Worker {
        double[] run(TreeExchange x, int me) throws IOException;
    }

    /** Runs {@code n} workers connected by an exchange; their results (or failures) in worker order. */
    static List<Future<double[]>> run(int n, long[] tokens, Worker w, AtomicBoolean cancelled) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        AtomicReferenceArray<String> slots = new AtomicReferenceArray<>(n);
        CountDownLatch all = new CountDownLatch(n);
        List<Future<double[]>> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int me = i;
            out.add(pool.submit(() -> {
                try (TreeExchange x = TreeExchange.open(me, n, "127.0.0.1", tokens[me], allGather(n, slots, all, me),
                        cancelled::get, 20_000)) {
                    return w.run(x, me);
                }
            }));
        }
        pool.shutdown();
        assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS), "the workers finished");
        return out;
    }

    @Test
    void parentsAndChildrenFormTreeSumsGroups() {
        assertEquals(-1, TreeExchange.parent(0));
        assertEquals(0, TreeExchange.parent(3));
        assertEquals(4, TreeExchange.parent(7));
        assertEquals(0, TreeExchange.parent(16));
        assertEquals(16, TreeExchange.parent(20));
        assertArrayEquals(new int[] {1, 2, 3, 4, 8, 12, 16}, TreeExchange.children(0, 17));
        assertArrayEquals(new int[] {5, 6, 7}, TreeExchange.children(4, 17));
        assertArrayEquals(new int[] {}, TreeExchange.children(16, 17));
        assertArrayEquals(new int[] {1}, TreeExchange.children(0, 2));
        for (int n = 1; n <= 300; n++) {
            for (int i = 1; i < n; i++) {
                int p = TreeExchange.parent(i);
                int at = i;
                assertTrue(java.util.Arrays.stream(TreeExchange.children(p, n)).anyMatch(c -> c == at), i + " of " + n);
            }
        }
    }

    /** Sums over any worker count, with missing results and magnitudes 1e-8..1e8: TreeSum's bits; the broadcast reaches all. */
    @Test
    void sumsHaveTreeSumsBitsAndTheBroadcastReachesEveryWorker() throws Exception {
        Random rnd = new Random(5);
        for (int n : new int[] {1, 2, 3, 4, 5, 6, 16, 17, 21, 70}) {
            Double[] values = new Double[n];
            for (int i = 0; i < n; i++) {
                values[i] = rnd.nextInt(5) == 0 ? null : (rnd.nextBoolean() ? -1 : 1) * Math.pow(10, -8 + 16 * rnd.nextDouble());
            }
            TreeSum.Stream<double[]> stream = new TreeSum.Stream<>(n, new double[] {0}, ADD);
            for (int i = 0; i < n; i++) {
                stream.add(i, values[i] == null ? null : new double[] {values[i]});
            }
            double expected = TreeSumTest.reference(values);
            assertEquals(expected, stream.finish()[0], 0.0);
            List<Future<double[]>> got = run(n, new long[n], (x, me) -> {
                double[] total = x.sum(values[me] == null ? null : new double[] {values[me]}, new double[] {0}, ADD, CODEC);
                assertEquals(me == 0, total != null, "only worker 0 holds the total");
                return x.broadcast(total, CODEC);
            }, new AtomicBoolean());
            for (int i = 0; i < n; i++) {
                assertEquals(expected, got.get(i).get()[0], 0.0, "worker " + i + " of " + n);
            }
        }
    }

    /** The driver's rendezvous hands every worker all addresses in worker order; an unreachable one is named as such. */
    @Test
    void theRendezvousAnswersEveryWorkerAndNamesAnUnreachableDriver() throws Exception {
        int n = 5;
        try (Rendezvous r = new Rendezvous("127.0.0.1", n, 42)) {
            ExecutorService pool = Executors.newFixedThreadPool(n);
            List<Future<String[]>> got = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int me = i;
                got.add(pool.submit(() -> Rendezvous.join(r.address(), 42, me, n, "host" + me + ":" + (1000 + me), () -> false,
                        20_000)));
            }
            pool.shutdown();
            for (Future<String[]> f : got) {
                assertArrayEquals(new String[] {"host0:1000", "host1:1001", "host2:1002", "host3:1003", "host4:1004"},
                        f.get(30, TimeUnit.SECONDS));
            }
        }
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> Rendezvous.join("127.0.0.1:" + closed, 1, 0, 2, "h:1", () -> false, 2000));
        assertTrue(e.getMessage().contains(Rendezvous.UNREACHABLE), e.getMessage());
    }

    /** A worker that fails closes its connections: its neighbours fail at once and say which worker went away. */
    @Test
    void aFailedWorkerStopsTheOthers() throws Exception {
        int n = 6;
        List<Future<double[]>> got = run(n, new long[n], (x, me) -> {
            if (me == 5) {
                throw new IllegalStateException("worker 5 fails");
            }
            double[] total = x.sum(new double[] {me}, new double[] {0}, ADD, CODEC);
            return x.broadcast(total, CODEC);
        }, new AtomicBoolean());
        for (int i = 0; i < n; i++) {
            int at = i;
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> got.get(at).get());
            assertTrue(e.getCause() instanceof IOException || i == 5, i + ": " + e.getCause());
        }
        Exception atParent = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                () -> got.get(4).get());
        assertTrue(atParent.getCause().getMessage().contains("worker 5 closed its connection"), atParent.getCause().getMessage());
    }

    /** A killed task stops waiting within a poll; a connection without the stage's token is not taken for a peer. */
    @Test
    void cancellationAndStrangersAreHandled() throws Exception {
        AtomicBoolean cancelled = new AtomicBoolean();
        new Thread(() -> {
            try {
                Thread.sleep(1500);
            } catch (InterruptedException e) {
                return;
            }
            cancelled.set(true);
        }).start();
        List<Future<double[]>> got = run(2, new long[2], (x, me) -> {
            if (me == 1) {
                while (!cancelled.get()) {
                    Thread.onSpinWait(); // a worker stuck in its minibatches until the stage is killed
                }
                try {
                    Thread.sleep(3000); // its connection stays open: worker 0 must notice the kill by itself
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                throw new IllegalStateException("killed");
            }
            return x.sum(new double[] {1}, new double[] {0}, ADD, CODEC);
        }, cancelled);
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                () -> got.get(0).get());
        assertTrue(e.getCause() instanceof java.io.InterruptedIOException && e.getCause().getMessage().contains("killed"),
                String.valueOf(e.getCause()));

        // worker 1 holds another stage's token: worker 0 refuses it and gives up after the set-up time
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        AtomicReferenceArray<String> slots = new AtomicReferenceArray<>(2);
        CountDownLatch all = new CountDownLatch(2);
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            int me = i;
            fs.add(pool.submit(() -> {
                try (TreeExchange x = TreeExchange.open(me, 2, "127.0.0.1", me == 0 ? 1 : 2, allGather(2, slots, all, me),
                        () -> false, 3000)) {
                    return x.sum(new double[] {1}, new double[] {0}, ADD, CODEC);
                }
            }));
        }
        pool.shutdown();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        Exception refused = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                () -> fs.get(0).get());
        assertTrue(refused.getCause().getMessage().contains("did not connect within 3 s"), refused.getCause().getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 20);
    }
}

package org.rollspark.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class HostTest {
    /**
     * A copy out of an array whose last use is the copy must read the array, not memory a collection
     * freed under it: an NIO view of an ND4J buffer keeps no array alive. Two threads pull temporaries
     * (the shape of the worker's Host.pull(local.params()), 509,410 floats: the paper's net) while one
     * thread collects every millisecond and one allocates arrays of another value into freed memory.
     * Without the reachability fences in Host.pull, 10 of 4,027 pulls read freed memory in 60 s on a
     * 2-core machine (a round's parameters turned into zeros and denormals); with them, 0 of 4,437.
     */
    @Test
    void aPulledTemporaryIsReadWholeWhileCollectionsFreeMemory() throws InterruptedException {
        int n = 509_410;
        long end = System.nanoTime() + 20_000_000_000L;
        AtomicLong pulls = new AtomicLong();
        AtomicLong corrupted = new AtomicLong();
        StringBuffer first = new StringBuffer();
        Thread gc = new Thread(() -> {
            while (System.nanoTime() < end) {
                System.gc();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Thread noise = new Thread(() -> {
            while (System.nanoTime() < end) {
                Nd4j.valueArrayOf(new long[] {n}, -7f, DataType.FLOAT).addi(0);
            }
        });
        Thread[] workers = new Thread[2];
        for (int w = 0; w < workers.length; w++) {
            float value = w + 1;
            workers[w] = new Thread(() -> {
                double[] out = new double[n];
                while (System.nanoTime() < end) {
                    Host.pull(Nd4j.valueArrayOf(new long[] {n}, value, DataType.FLOAT), out);
                    pulls.incrementAndGet();
                    for (int i = 0; i < n; i++) {
                        if (out[i] != value) {
                            if (corrupted.getAndIncrement() == 0) {
                                first.append("value ").append(out[i]).append(" at ").append(i).append(" for ").append(value);
                            }
                            break;
                        }
                    }
                }
            });
        }
        gc.start();
        noise.start();
        for (Thread t : workers) {
            t.start();
        }
        for (Thread t : workers) {
            t.join();
        }
        gc.join();
        noise.join();
        assertTrue(pulls.get() > 100, "pulls: " + pulls);
        assertEquals(0, corrupted.get(), corrupted + " of " + pulls + " pulls read freed memory, first: " + first);
    }

    @Test
    void pullAndPushRoundTripViewsAndTypes() {
        INDArray m = Nd4j.arange(12).castTo(DataType.FLOAT).reshape(3, 4);
        INDArray t = m.transpose(); // not dense: copied through a dup
        double[] got = Host.pull(t);
        assertEquals(1.0, got[3], 0); // row-major of the transpose: (0, 0), (0, 1) = 4, (0, 2) = 8, (1, 0) = 1
        assertEquals(4.0, got[1], 0);
        INDArray d = Nd4j.zeros(DataType.DOUBLE, 2, 3);
        Host.push(new double[] {1, 2, 3, 4, 5, 6}, d);
        assertEquals(6.0, d.getDouble(1, 2), 0);
    }
}

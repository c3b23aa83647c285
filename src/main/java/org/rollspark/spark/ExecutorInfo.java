package org.rollspark.spark;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Logs, once per JVM (executor), the memory limits that decide whether ND4J's off-heap buffers fit:
 * JavaCPP's {@code org.bytedeco.javacpp.maxbytes} (off-heap ND4J arrays) and {@code maxphysicalbytes}
 * (heap + off-heap resident size), the JVM heap, and the threads libnd4j's OpenMP uses. Executors killed
 * by YARN or Kubernetes for exceeding their container usually lack memoryOverhead for these.
 */
final class ExecutorInfo {
    private static final AtomicBoolean LOGGED = new AtomicBoolean();

    private ExecutorInfo() {}

    static void logOnce() {
        if (!LOGGED.compareAndSet(false, true)) {
            return;
        }
        long maxBytes = org.bytedeco.javacpp.Pointer.maxBytes();
        long maxPhysical = org.bytedeco.javacpp.Pointer.maxPhysicalBytes();
        org.slf4j.LoggerFactory.getLogger("org.rollspark.executor").info(String.format(Locale.ROOT,
                "roll executor memory: ND4J off-heap limit (org.bytedeco.javacpp.maxbytes) %s, physical limit "
                        + "(org.bytedeco.javacpp.maxphysicalbytes) %s, JVM heap max %s, %d cores, OMP_NUM_THREADS %s",
                mib(maxBytes), mib(maxPhysical), mib(Runtime.getRuntime().maxMemory()),
                Runtime.getRuntime().availableProcessors(), System.getenv().getOrDefault("OMP_NUM_THREADS", "(unset)")));
    }

    private static String mib(long bytes) {
        return bytes <= 0 ? "unlimited" : (bytes >> 20) + " MiB";
    }
}

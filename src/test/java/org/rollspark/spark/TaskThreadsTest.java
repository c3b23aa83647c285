package org.rollspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

/** Each task's ND4J and OpenBLAS threads: the cores its task slot owns. */
class TaskThreadsTest {
    @Test
    void aTaskGetsTheCoresOfItsSlot() {
        assertEquals(1, TaskThreads.choose(2, 1, 0).threads(), "local[2]");
        assertEquals(2, TaskThreads.choose(16, 2, 0).threads(), "spark.task.cpus 2: 8 slots of 2 cores");
        assertEquals(3, TaskThreads.choose(3, 2, 0).threads(), "one slot of spark.task.cpus 2 on 3 cores: all 3");
        assertEquals(4, TaskThreads.choose(16, 1, 4).threads(), "spark.roll.threadsPerTask");
        assertEquals(1, TaskThreads.choose(1, 2, 0).threads(), "never below 1");
    }

    /** On Spark the tasks apply the driver's choice to ND4J's and OpenBLAS's thread counts. */
    @Test
    void tasksApplyTheCount() {
        for (String[] c : new String[][] {{"local[2]", "0", "101"}, {"local[2]", "2", "202"}}) {
            SparkConf conf = new SparkConf().setMaster(c[0]).setAppName("threads").set("spark.ui.enabled", "false")
                    .set("spark.driver.host", "127.0.0.1").set(TaskThreads.SETTING, c[1]);
            try (JavaSparkContext sc = new JavaSparkContext(conf)) {
                TaskThreads.set(7); // as if an earlier job had left another count
                TaskThreads.forStage(sc);
                List<Integer> seen = sc.parallelize(List.of(0, 1), 2).map(i -> {
                    TaskThreads.apply();
                    return Nd4j.getEnvironment().maxMasterThreads() * 100 + Nd4j.factory().blas().getMaxThreads();
                }).collect();
                assertEquals(List.of(Integer.parseInt(c[2]), Integer.parseInt(c[2])), seen, c[1]);
            }
        }
    }
}

/**
 * Which OpenBLAS kernel computes, and whether it computes right: the CPU and the core types OpenBLAS can run on it
 * ({@link org.rollspark.blas.CpuInfo}, {@link org.rollspark.blas.CoreTypes}), the library and the core in use
 * ({@link org.rollspark.blas.OpenBlas}), the self-test of the products and the float32 step the hot paths run
 * ({@link org.rollspark.blas.SelfTest}), the check every JVM runs once before its first computation
 * ({@link org.rollspark.blas.KernelCheck}), and the choice of the fastest correct core type, probed in child JVMs
 * and cached per machine ({@link org.rollspark.blas.KernelChoice}, {@link org.rollspark.blas.KernelProbe}).
 * Knows the networks and the loss (for the step it tests); nothing of Spark, model folders or the command line.
 */
package org.rollspark.blas;

package org.rollspark.blas;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs one test method in this JVM and exits 0 if it passed (1 if it failed, 2 if none ran), after printing the
 * BLAS it ran on: {@code RunTest org.rollspark.loss.RollLossGradientTest#float32StepMatchesFloat64}. For tests that
 * need a JVM of their own, e.g. under another OPENBLAS_CORETYPE.
 */
public final class RunTest {
    private RunTest() {}

    public static void main(String[] args) {
        System.out.println("core=" + OpenBlas.info().coreType());
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        String[] cm = args[0].split("#", 2);
        java.lang.reflect.Method method;
        try {
            Class<?> c = Class.forName(cm[0]);
            method = java.util.Arrays.stream(c.getDeclaredMethods()).filter(m -> m.getName().equals(cm[1])).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no method " + args[0]));
            launcher.execute(LauncherDiscoveryRequestBuilder.request().selectors(selectMethod(c, method)).build(), listener);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("no class " + cm[0], e);
        }
        TestExecutionSummary s = listener.getSummary();
        s.printFailuresTo(new java.io.PrintWriter(System.out, true), 20);
        System.out.println("tests=" + s.getTestsSucceededCount() + "/" + s.getTestsFoundCount());
        System.exit(s.getTestsFoundCount() == 0 ? 2 : s.getTotalFailureCount() > 0 ? 1 : 0);
    }
}

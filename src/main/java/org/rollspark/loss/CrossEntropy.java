package org.rollspark.loss;

/** Softmax cross-entropy of a batch of logits: its mean, the correct count, and d mean / d logits. */
record CrossEntropy(double mean, int correct) {

    /**
     * @param f       logits, row-major (batch, k)
     * @param dLogits filled with the gradient of the mean loss, or null
     */
    static CrossEntropy of(double[] f, int[] labels, int k, double[] dLogits) {
        int batch = f.length / k;
        if (labels.length != batch) {
            throw new IllegalArgumentException(labels.length + " labels for a batch of " + batch);
        }
        double ce = 0;
        int correct = 0;
        for (int b = 0; b < batch; b++) {
            int y = labels[b];
            if (y < 0 || y >= k) {
                throw new IllegalArgumentException("label " + y + " of example " + b + " is outside [0, " + k + ")");
            }
            int o = b * k;
            int arg = 0;
            for (int j = 1; j < k; j++) {
                if (f[o + j] > f[o + arg]) {
                    arg = j;
                }
            }
            double mx = f[o + arg];
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(f[o + j] - mx);
            }
            double lse = mx + Math.log(sum);
            ce += lse - f[o + y];
            correct += arg == y ? 1 : 0;
            if (dLogits != null) {
                for (int j = 0; j < k; j++) {
                    dLogits[o + j] = (Math.exp(f[o + j] - lse) - (j == y ? 1 : 0)) / batch;
                }
            }
        }
        return new CrossEntropy(ce / batch, correct);
    }
}

package org.rollspark.region;

/** The lp norms the certificates are stated in; a margin in lp uses the dual norm lq of gradients. */
public enum Norm {
    L1("l1"), L2("l2"), LINF("linf");

    private final String label;

    Norm(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** The norm of a label (l1, l2, linf). */
    public static Norm of(String label) {
        for (Norm p : values()) {
            if (p.label.equals(label)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown norm '" + label + "': l1, l2 or linf");
    }

    /** The dual norm q with 1/p + 1/q = 1. */
    public Norm dual() {
        return switch (this) {
            case L1 -> LINF;
            case L2 -> L2;
            case LINF -> L1;
        };
    }
}

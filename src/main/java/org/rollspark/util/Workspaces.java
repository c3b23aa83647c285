package org.rollspark.util;

import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reused off-heap arenas for the hot paths. A step of the ROLL loss or a certification chunk
 * allocates tens of MB of temporaries; fresh allocations of that size are page-faulted in on first
 * touch, which cost more than the GEMMs that fill them. A workspace learns the size on its first
 * use and then hands the same memory out on every call. Arrays created inside a scope must not
 * escape it (callers receive host arrays or write into arrays they own).
 */
public final class Workspaces {
    private static final WorkspaceConfiguration CONFIG = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .overallocationLimit(0.1)
            .policyLearning(LearningPolicy.FIRST_LOOP)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .policySpill(SpillPolicy.REALLOCATE)
            .build();

    private Workspaces() {}

    /**
     * A roomier arena for passes whose allocations vary from call to call (graph nets: the last
     * minibatch of a shard is smaller, tangent blocks differ): learned over the first calls instead
     * of the first one, with 50 % headroom, so that later calls do not spill into fresh allocations.
     */
    private static final WorkspaceConfiguration ROOMY = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .overallocationLimit(0.5)
            .policyLearning(LearningPolicy.OVER_TIME)
            .cyclesBeforeInitialization(3)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .policySpill(SpillPolicy.REALLOCATE)
            .build();

    /** Opens the calling thread's roomy workspace with this id (see {@link #ROOMY}). */
    public static MemoryWorkspace openRoomy(String id) {
        return Nd4j.getWorkspaceManager().getAndActivateWorkspace(ROOMY, id);
    }

    /** Opens (activates) the calling thread's workspace with this id; close it to end the scope. */
    public static MemoryWorkspace open(String id) {
        return Nd4j.getWorkspaceManager().getAndActivateWorkspace(CONFIG, id);
    }
}

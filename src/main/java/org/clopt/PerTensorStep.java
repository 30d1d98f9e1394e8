package org.clopt;

/**
 * What an algorithm whose step needs each tensor's norms (lamb's trust ratio) adds to its
 * {@link OptimizerConfig}. A step of a run of tensors is then four launches:
 * {@code <name>_step} element-wise as for every algorithm (it may leave p as it is), then
 * {@code <name>_partials} (one work-item per chunk of reduce.cl's chunk table: each chunk's
 * Euclidean norm of each quantity of {@link #reducedQuantities}), {@code <name>_finish} (one
 * work-item: each tensor's factor from its norms, written for each of its chunks) and
 * {@code <name>_apply} (one work-item per chunk: the update with its tensor's factor). The
 * kernels are compiled after {@code reduce.cl}; partials and apply take (chunks, partials or
 * factors, chunk count, p, the state arrays, the step's scalars). The CPU reference runs the same
 * passes through the methods below.
 */
interface PerTensorStep {
    /** How many quantities {@link #reducedQuantities} gives. */
    int reducedCount();

    /**
     * After {@link OptimizerConfig#referenceStep} over [from, to): arrays holding, at [from, to),
     * each quantity whose per-tensor Euclidean norm the factor needs.
     */
    float[][] reducedQuantities(float[] p, float[][] state, float[] scalars, int from, int to);

    /** A tensor's factor from its quantities' norms. */
    float tensorFactor(float[] norms);

    /** The update of elements [from, to) with their tensor's factor. */
    void referenceApply(float[] p, float[][] state, float[] scalars, int from, int to, float factor);
}

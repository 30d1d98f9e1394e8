package org.clopt;

import java.util.Arrays;

/** The CPU reference path: Java arrays and {@link OptimizerConfig#referenceStep}. */
final class ReferenceOptimizer extends AbstractOptimizer {
    private final float[] parameters;
    private final float[] gradients;
    private final float[][] state;

    ReferenceOptimizer(OptimizerConfig config, int size) {
        super(config, size);
        parameters = new float[size];
        gradients = new float[size];
        state = new float[config.stateNames().size()][size];
        for (int k = 0; k < state.length; k++) {
            Arrays.fill(state[k], config.initialState(k));
        }
    }

    @Override
    void run(float[] scalars) {
        config.referenceStep(parameters, gradients, state, scalars, 0, size);
    }

    @Override
    void putParameters(float[] values) {
        System.arraycopy(values, 0, parameters, 0, size);
    }

    @Override
    void getParameters(float[] out) {
        System.arraycopy(parameters, 0, out, 0, size);
    }

    @Override
    void putGradients(float[] values) {
        System.arraycopy(values, 0, gradients, 0, size);
    }

    @Override
    void getState(int index, float[] out) {
        System.arraycopy(state[index], 0, out, 0, size);
    }

    @Override
    void putState(int index, float[] values) {
        System.arraycopy(values, 0, state[index], 0, size);
    }

    @Override
    void release() {
        // Plain Java arrays: nothing native to release.
    }
}

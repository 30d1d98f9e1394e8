package org.clopt;

import java.nio.file.Path;

/** Saves a checkpoint over and over until killed; run by {@link CheckpointTest}. */
public final class CheckpointCrashChild {
    private CheckpointCrashChild() {
    }

    static ParameterSet set() {
        return ParameterSet.builder().group(Adam.builder().amsgrad(true).build())
                .tensor("w", 512, 512).tensor("b", 512).buildReference();
    }

    public static void main(String[] args) {
        Path file = Path.of(args[0]);
        try (ParameterSet set = set()) {
            float[] g = new float[512 * 512];
            java.util.Arrays.fill(g, 0.5f);
            set.writeGradients("w", g);
            while (true) {
                set.step();
                Checkpoint.save(set, file, true);
            }
        }
    }
}

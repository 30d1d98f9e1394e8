package org.clopt;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The registry: every algorithm clopt runs, one row each, in the order help texts, benchmarks,
 * training runs and reports list them. Everything that needs the list of algorithms (text
 * parsing, the command line, bench, verify, JMH, the training workloads, the shared tests)
 * reads it here.
 *
 * <p>Adding an algorithm: its kernel {@code kernels/<name>.cl}; one Java file, its
 * {@link OptimizerConfig} subclass with the hyperparameter specs, the update rule's scalars and
 * the CPU reference step; its row below; and rows in the test tables (the conformance option
 * sets and the PyTorch golden cases). The README's "Adding an algorithm" says the same.
 */
public final class Algorithms {
    private Algorithms() {
    }

    /** Every algorithm, in order. */
    public static final List<Algorithm> ALL = List.of(
            Sgd.SGD, Sgd.MOMENTUM, Sgd.NESTEROV, Adagrad.ALGORITHM, RmsProp.ALGORITHM,
            Adadelta.ALGORITHM, Adam.ALGORITHM, AdamW.ALGORITHM, NAdam.ALGORITHM, Adamax.ALGORITHM,
            Rprop.ALGORITHM, RAdam.ALGORITHM, Asgd.ALGORITHM, Lion.ALGORITHM, Lamb.ALGORITHM,
            Adafactor.ALGORITHM);

    /** Their names, in the same order. */
    public static final List<String> NAMES = ALL.stream().map(Algorithm::name).toList();

    private static final Map<String, Algorithm> BY_NAME = ALL.stream()
            .collect(Collectors.toUnmodifiableMap(Algorithm::name, Function.identity()));

    /**
     * The row named {@code name}.
     *
     * @param name a name of {@link #NAMES}
     * @return the row
     * @throws IllegalArgumentException listing the known names when there is none
     */
    public static Algorithm named(String name) {
        Algorithm a = BY_NAME.get(name);
        if (a == null) {
            throw new IllegalArgumentException("unknown optimizer: '" + name + "' (known: "
                    + String.join(", ", NAMES) + ")");
        }
        return a;
    }
}

package org.clopt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * One row of the algorithm registry ({@link Algorithms}): the name that runs unchanged through
 * kernel file ({@code kernels/<name>.cl}, kernel {@code <name>_step}), configuration, CPU
 * reference, tests, benchmarks and checkpoints; its hyperparameters with their defaults and
 * ranges; and the error the conformance check allows between kernel and CPU reference.
 *
 * <p>The update rule, the state it keeps and the per-step scalars live in the algorithm's
 * {@link OptimizerConfig} subclass, one Java file per algorithm. A preset ({@code momentum},
 * {@code nesterov}) is a row of its own that shares the class and changes defaults.
 */
public final class Algorithm {
    private final String name;
    private final List<Hyperparameter> hyperparameters;
    private final Map<String, Hyperparameter> byKey = new LinkedHashMap<>();
    private final double conformanceUlps;
    private final BiFunction<Algorithm, Map<String, Object>, OptimizerConfig> factory;

    Algorithm(String name, double conformanceUlps,
              BiFunction<Algorithm, Map<String, Object>, OptimizerConfig> factory,
              Hyperparameter... hyperparameters) {
        this.name = Objects.requireNonNull(name, "name");
        this.conformanceUlps = conformanceUlps;
        this.factory = factory;
        this.hyperparameters = List.of(hyperparameters);
        for (Hyperparameter h : hyperparameters) {
            if (byKey.put(h.key(), h) != null) {
                throw new IllegalStateException(name + ": hyperparameter " + h.key() + " declared twice");
            }
        }
    }

    /** A row of its own with other defaults: a preset such as {@code momentum}, or a variant. */
    Algorithm preset(String presetName, Map<String, Object> defaults) {
        Hyperparameter[] specs = hyperparameters.toArray(Hyperparameter[]::new);
        for (int i = 0; i < specs.length; i++) {
            if (defaults.containsKey(specs[i].key())) {
                specs[i] = specs[i].withDefault(defaults.get(specs[i].key()));
            }
        }
        return new Algorithm(presetName, conformanceUlps, factory, specs);
    }

    /**
     * The name: kernel file, registry key, checkpoint and command-line name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * The hyperparameters in PyTorch's order, with this row's defaults.
     *
     * @return the hyperparameters (immutable)
     */
    public List<Hyperparameter> hyperparameters() {
        return hyperparameters;
    }

    /**
     * The hyperparameter under PyTorch keyword {@code key}.
     *
     * @param key the PyTorch keyword
     * @return the hyperparameter
     * @throws IllegalArgumentException naming the known keys when there is none
     */
    public Hyperparameter hyperparameter(String key) {
        Hyperparameter h = byKey.get(key);
        if (h == null) {
            throw new IllegalArgumentException("unknown hyperparameter for " + name + ": '" + key
                    + "' (known: " + String.join(", ", byKey.keySet()) + ")");
        }
        return h;
    }

    /**
     * The largest difference, in ulp of the operands, that the conformance check allows between
     * this algorithm's kernel and its CPU reference: about 2 for multiply-add only, 8 with a
     * square root and a division, more with several of each.
     *
     * @return the allowed difference, in ulp
     */
    public double conformanceUlps() {
        return conformanceUlps;
    }

    /**
     * A configuration from these values, any key this row lacks taking its default.
     * Values may be given as Java values or as text (see {@link Hyperparameter}).
     *
     * @param values the values by PyTorch keyword
     * @return the validated configuration
     * @throws IllegalArgumentException naming the first unknown key, missing value or invalid value
     */
    public OptimizerConfig create(Map<String, ?> values) {
        for (String key : values.keySet()) {
            hyperparameter(key);
        }
        Map<String, Object> all = new LinkedHashMap<>();
        for (Hyperparameter h : hyperparameters) {
            Object value = values.containsKey(h.key()) ? h.coerce(values.get(h.key())) : h.defaultValue();
            h.check(value);
            all.put(h.key(), value);
        }
        return factory.apply(this, Collections.unmodifiableMap(all));
    }

    /** {@code name(key=default, ...)}, as help texts show it. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        hyperparameters.forEach(h -> parts.add(h.toString()));
        return name + "(" + String.join(", ", parts) + ")";
    }
}

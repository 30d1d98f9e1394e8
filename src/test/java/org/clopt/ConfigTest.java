package org.clopt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The registry and the configurations it builds: defaults, with(), toBuilder(), validation. */
class ConfigTest {

    static List<Algorithm> algorithms() {
        return Algorithms.ALL;
    }

    /** A configuration of the row with its defaults (SGD's rows need an lr). */
    static OptimizerConfig defaults(Algorithm a) {
        return a.create(Map.of());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("algorithms")
    void defaultsComeFromTheSpecs(Algorithm a) {
        OptimizerConfig config = defaults(a);
        assertEquals(a.hyperparameters().stream().map(Hyperparameter::key).toList(),
                List.copyOf(config.hyperparameters().keySet()));
        for (Hyperparameter h : a.hyperparameters()) {
            if (h.defaultValue() != null) {
                assertEquals(h.defaultValue(), config.hyperparameters().get(h.key()), h.key());
            }
        }
        assertEquals(a.name(), config.algorithm());
        assertEquals(config, OptimizerConfig.of(a.name(), textOf(config)));
        assertTrue(a.conformanceUlps() > 0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("algorithms")
    void withChangesOneHyperparameterAndNothingElse(Algorithm a) {
        OptimizerConfig config = defaults(a);
        for (Hyperparameter h : a.hyperparameters()) {
            Object other = switch (h.kind()) {
                case NUMBER -> inRange(h.range(), 0.25, -0.25, 1.25, 2.0);
                case PAIR -> List.of(inRange(h.range(0), 0.5, 1.5), inRange(h.range(1), 0.75, 1.5));
                case FLAG -> !(Boolean) config.hyperparameters().get(h.key());
                case CHOICE -> h.choices().get(1);
            };
            OptimizerConfig changed;
            try {
                changed = config.with(h.key(), other);
            } catch (IllegalArgumentException e) {
                // Only SGD's nesterov rule and min_8bit_size without int8 state may refuse a single change.
                assertTrue(e.getMessage().startsWith("invalid nesterov")
                        || e.getMessage().startsWith("invalid min_8bit_size"), e.getMessage());
                continue;
            }
            Map<String, Object> expected = new LinkedHashMap<>(config.hyperparameters());
            expected.put(h.key(), other instanceof Number n ? n.doubleValue() : other);
            assertEquals(expected, changed.hyperparameters(), h.key());
            assertEquals(config.getClass(), changed.getClass());
            assertEquals(config, changed.with(h.key(), config.hyperparameters().get(h.key())));
        }
    }

    /** The first candidate the range allows: each number of a pair has its own range (Rprop's etas). */
    private static double inRange(Hyperparameter.Range range, double... candidates) {
        for (double c : candidates) {
            if (range.contains(c)) {
                return c;
            }
        }
        throw new AssertionError("no candidate in " + range);
    }

    @Test
    void aScheduleKeepsWhatTheUserSet() {
        OptimizerConfig noDecay = AdamW.builder().lr(1e-3).weightDecay(0).build();
        OptimizerConfig scheduled = noDecay.with("lr", 5e-4);
        assertEquals(0.0, scheduled.number("weight_decay"));
        assertEquals(5e-4, scheduled.lr());
        AdamW viaBuilder = ((AdamW) noDecay).toBuilder().lr(5e-4).build();
        assertEquals(scheduled, viaBuilder);
        assertEquals(noDecay, noDecay.toBuilder().build());
        // Presets keep what was set, whatever their defaults.
        Sgd momentum = Sgd.momentumBuilder().lr(0.1).momentum(0.5).build();
        assertEquals(0.5, momentum.toBuilder().lr(0.2).build().number("momentum"));
        assertEquals("sgd", momentum.with("momentum", 0).algorithm());
    }

    @Test
    void withValidatesAsABuildDoes() {
        OptimizerConfig adam = Adam.builder().build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> adam.with("lr", -1));
        assertEquals("invalid lr: -1.0 (must be a finite number >= 0)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adam.with("betas", List.of(0.9, 1.0)));
        assertEquals("invalid betas[1]: 1.0 (must be in [0, 1))", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adam.with("momentum", 0.9));
        assertTrue(e.getMessage().startsWith("unknown hyperparameter for adam: 'momentum' (known: lr, betas"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adam.with("amsgrad", 1));
        assertTrue(e.getMessage().startsWith("invalid amsgrad: 1"), e.getMessage());
        assertEquals(true, adam.with("amsgrad", "true").flag("amsgrad"));
        assertEquals(List.of(0.8, 0.9), adam.with("betas", new double[] {0.8, 0.9}).hyperparameters().get("betas"));
        assertThrows(IllegalArgumentException.class,
                () -> Sgd.nesterovBuilder().lr(0.1).build().with("dampening", 0.1));
        assertThrows(IllegalArgumentException.class, () -> Adam.builder().set("rho", 0.9));
    }

    @Test
    void valuesBeyondFloat32AreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("adam", Map.of("lr", "1e39")));
        assertTrue(e.getMessage().startsWith("invalid lr: 1.0E39 (must be at most 3.4028235E38"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Sgd.builder().lr(0.1).dampening(-1e40).build());
    }

    @Test
    void theRegistryHasOneRowPerName() {
        assertEquals(Algorithms.ALL.size(), new HashSet<>(Algorithms.NAMES).size());
        assertEquals(Algorithms.ALL.stream().map(Algorithm::name).toList(), Algorithms.NAMES);
        assertEquals(Algorithms.named("adam"), Adam.builder().build().spec());
        assertEquals("adamw(lr=0.001, betas=0.9,0.999, eps=1.0E-8, weight_decay=0.01, amsgrad=false, "
                + "maximize=false, state_dtype=fp32, min_8bit_size=4096)", Algorithms.named("adamw").toString());
        assertTrue(Algorithms.named("adam").hyperparameter("amsgrad").isStructural());
        assertTrue(!Algorithms.named("adam").hyperparameter("lr").isStructural());
    }

    @Test
    void equalityIsByClassAndValues() {
        assertEquals(Adam.builder().lr(0.01).build(), OptimizerConfig.of("adam", Map.of("lr", "0.01")));
        assertEquals(Adam.builder().build().hashCode(), Adam.builder().build().hashCode());
        assertNotEquals(Adam.builder().build(), AdamW.builder().weightDecay(0).build());
    }

    /** The configuration's values as the text {@link OptimizerConfig#of} reads. */
    static Map<String, String> textOf(OptimizerConfig config) {
        Map<String, String> text = new LinkedHashMap<>();
        config.hyperparameters().forEach((k, v) -> text.put(k, Hyperparameter.format(v)));
        return text;
    }
}

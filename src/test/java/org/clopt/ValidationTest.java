package org.clopt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every rejected hyperparameter fails at construction, naming the parameter, value and range. */
class ValidationTest {

    @ParameterizedTest(name = "{0} {1}={2}")
    @CsvSource(delimiter = '|', value = {
        "sgd      | lr                        | -0.1     | invalid lr: -0.1 (must be a finite number >= 0)",
        "sgd      | lr                        | NaN      | invalid lr: NaN",
        "sgd      | lr                        | Infinity | invalid lr: Infinity",
        "sgd      | lr                        | abc      | invalid lr: 'abc' (must be a number)",
        "momentum | momentum                  | -0.5     | invalid momentum: -0.5",
        "momentum | dampening                 | NaN      | invalid dampening: NaN (must be a finite number)",
        "momentum | weight_decay              | -1       | invalid weight_decay: -1.0",
        "momentum | maximize                  | yes      | invalid maximize: 'yes' (must be true or false)",
        "nesterov | momentum                  | 0        | invalid nesterov: true requires momentum > 0",
        "nesterov | dampening                 | 0.1      | invalid nesterov: true requires momentum > 0 and dampening = 0",
        "adagrad  | lr_decay                  | -1e-3    | invalid lr_decay: -0.001",
        "adagrad  | initial_accumulator_value | -1       | invalid initial_accumulator_value: -1.0",
        "adagrad  | eps                       | -1e-10   | invalid eps: -1.0E-10",
        "rmsprop  | alpha                     | -0.1     | invalid alpha: -0.1",
        "rmsprop  | momentum                  | -0.1     | invalid momentum: -0.1",
        "rmsprop  | centered                  | 1        | invalid centered: '1' (must be true or false)",
        "adadelta | rho                       | 1.5      | invalid rho: 1.5 (must be in [0, 1])",
        "adadelta | rho                       | -0.1     | invalid rho: -0.1 (must be in [0, 1])",
        "adam     | betas                     | '1.0,0.999' | invalid betas[0]: 1.0 (must be in [0, 1))",
        "adam     | betas                     | '0.9,-0.1'  | invalid betas[1]: -0.1 (must be in [0, 1))",
        "adam     | betas                     | 0.9      | invalid betas: '0.9' (must be two numbers separated by a comma)",
        "adam     | eps                       | -1       | invalid eps: -1.0",
        "adamw    | weight_decay              | -0.01    | invalid weight_decay: -0.01",
        "adamw    | amsgrad                   | maybe    | invalid amsgrad: 'maybe'",
        "nadam    | momentum_decay            | -4e-3    | invalid momentum_decay: -0.004",
        "nadam    | betas                     | '0.9,1'  | invalid betas[1]: 1.0 (must be in [0, 1))",
        "nadam    | decoupled_weight_decay    | on       | invalid decoupled_weight_decay: 'on'",
        "adamax   | betas                     | '0.9,1'  | invalid betas[1]: 1.0 (must be in [0, 1))",
        "adamax   | eps                       | -1e-8    | invalid eps: -1.0E-8",
        "rprop    | lr                        | -0.01    | invalid lr: -0.01 (must be a finite number >= 0)",
        "rprop    | etas                      | '1.5,1.2'   | invalid etas[0]: 1.5 (must be in (0, 1))",
        "rprop    | etas                      | '0,1.2'     | invalid etas[0]: 0.0 (must be in (0, 1))",
        "rprop    | etas                      | '0.5,1'     | invalid etas[1]: 1.0 (must be a finite number > 1)",
        "rprop    | etas                      | '0.5,Infinity' | invalid etas[1]: Infinity (must be a finite number > 1)",
        "rprop    | step_sizes                | '-1e-6,50'  | invalid step_sizes[0]: -1.0E-6 (must be a finite number >= 0)",
        "rprop    | step_sizes                | '1e-6,NaN'  | invalid step_sizes[1]: NaN (must be a finite number >= 0)",
        "rprop    | step_sizes                | '2,1'       | invalid step_sizes: 2.0,1.0 (step_sizes[0], the smallest step size, must be at most step_sizes[1]",
        "rprop    | weight_decay              | 0.1      | unknown hyperparameter for rprop: 'weight_decay'",
        "radam    | lr                        | -1e-3    | invalid lr: -0.001 (must be a finite number >= 0)",
        "radam    | betas                     | '1,0.999' | invalid betas[0]: 1.0 (must be in [0, 1))",
        "radam    | betas                     | '0.9,1'  | invalid betas[1]: 1.0 (must be in [0, 1))",
        "radam    | eps                       | -1e-8    | invalid eps: -1.0E-8",
        "radam    | weight_decay              | -0.1     | invalid weight_decay: -0.1",
        "radam    | decoupled_weight_decay    | yes      | invalid decoupled_weight_decay: 'yes'",
        "asgd     | lr                        | -0.01    | invalid lr: -0.01 (must be a finite number >= 0)",
        "asgd     | lambd                     | -1e-4    | invalid lambd: -1.0E-4 (must be a finite number >= 0)",
        "asgd     | alpha                     | -0.75    | invalid alpha: -0.75 (must be a finite number >= 0)",
        "asgd     | t0                        | NaN      | invalid t0: NaN (must be a finite number)",
        "asgd     | t0                        | -Infinity | invalid t0: -Infinity (must be a finite number)",
        "asgd     | weight_decay              | -0.1     | invalid weight_decay: -0.1",
        "asgd     | momentum                  | 0.9      | unknown hyperparameter for asgd: 'momentum'",
        "lion     | lr                        | -1e-4    | invalid lr: -1.0E-4 (must be a finite number >= 0)",
        "lion     | betas                     | '-0.1,0.99' | invalid betas[0]: -0.1 (must be in [0, 1])",
        "lion     | betas                     | '0.9,1.5'   | invalid betas[1]: 1.5 (must be in [0, 1])",
        "lion     | weight_decay              | -0.1     | invalid weight_decay: -0.1",
        "lion     | maximize                  | yes      | invalid maximize: 'yes' (must be true or false)",
        "lion     | eps                       | 1e-8     | unknown hyperparameter for lion: 'eps' (known: lr, betas, weight_decay, maximize, state_dtype, min_8bit_size)",
        "lamb     | lr                        | -1e-3    | invalid lr: -0.001 (must be a finite number >= 0)",
        "lamb     | betas                     | '0.9,1'  | invalid betas[1]: 1.0 (must be in [0, 1))",
        "lamb     | eps                       | -1e-6    | invalid eps: -1.0E-6",
        "lamb     | weight_decay              | -0.1     | invalid weight_decay: -0.1",
    })
    void rejectsInvalidValue(String optimizer, String key, String value, String message) {
        Map<String, String> settings = optimizer.startsWith("sgd") || optimizer.equals("momentum")
                || optimizer.equals("nesterov") ? new java.util.HashMap<>(Map.of("lr", "0.1"))
                : new java.util.HashMap<>();
        settings.put(key, value);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of(optimizer, settings));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    @Test
    void sgdsLrDefaultsToCurrentPyTorchs() {
        assertEquals(1e-3, OptimizerConfig.of("sgd", Map.of()).lr());
        assertEquals(1e-3, Sgd.momentumBuilder().build().lr());
        assertEquals(0.9, Sgd.nesterovBuilder().build().number("momentum"));
    }

    @Test
    void rejectsUnknownOptimizerAndKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("adamx", Map.of()));
        assertTrue(e.getMessage().startsWith("unknown optimizer: 'adamx' (known: sgd, momentum"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("adam", Map.of("momentum", "0.9")));
        assertTrue(e.getMessage().startsWith("unknown hyperparameter for adam: 'momentum' (known: "),
                e.getMessage());
    }

    @Test
    void buildersCheckToo() {
        assertThrows(IllegalArgumentException.class, () -> Adam.builder().betas(0.9, 1.0).build());
        assertThrows(IllegalArgumentException.class, () -> AdamW.builder().lr(-1).build());
        assertThrows(IllegalArgumentException.class, () -> NAdam.builder().eps(Double.NaN).build());
        assertThrows(IllegalArgumentException.class, () -> Adadelta.builder().rho(2).build());
        assertThrows(IllegalArgumentException.class, () -> RmsProp.builder().alpha(-1).build());
        assertThrows(IllegalArgumentException.class, () -> Adagrad.builder().lrDecay(-1).build());
        assertThrows(IllegalArgumentException.class,
                () -> Sgd.builder().lr(0.1).nesterov(true).build());
        assertThrows(IllegalArgumentException.class, () -> Rprop.builder().etas(0.5, 0.9).build());
        assertThrows(IllegalArgumentException.class, () -> Rprop.builder().stepSizes(1, 0.5).build());
        assertThrows(IllegalArgumentException.class, () -> Rprop.builder().weightDecay(0.1));
        assertThrows(IllegalArgumentException.class, () -> Asgd.builder().lambd(-1).build());
        assertThrows(IllegalArgumentException.class, () -> Asgd.builder().t0(Double.NaN).build());
        assertThrows(IllegalArgumentException.class, () -> Lion.builder().betas(0.9, 1.1).build());
        assertThrows(IllegalArgumentException.class, () -> Lion.builder().set("eps", 1e-8));
    }

    @Test
    void defaultsArePyTorchs() {
        assertEquals(Map.of("lr", 1e-3, "betas", java.util.List.of(0.9, 0.999), "eps", 1e-8,
                "weight_decay", 0.0, "amsgrad", false, "maximize", false, "decoupled_weight_decay", false,
                "state_dtype", "fp32", "min_8bit_size", 4096.0),
                OptimizerConfig.of("adam", Map.of()).hyperparameters());
        assertEquals(1e-2, OptimizerConfig.of("adamw", Map.of()).number("weight_decay"));
        assertEquals(2e-3, OptimizerConfig.of("nadam", Map.of()).number("lr"));
        assertEquals(4e-3, OptimizerConfig.of("nadam", Map.of()).number("momentum_decay"));
        assertEquals(1e-10, OptimizerConfig.of("adagrad", Map.of()).number("eps"));
        assertEquals(0.99, OptimizerConfig.of("rmsprop", Map.of()).number("alpha"));
        assertEquals(1.0, OptimizerConfig.of("adadelta", Map.of()).number("lr"));
        assertEquals(1e-6, OptimizerConfig.of("adadelta", Map.of()).number("eps"));
        assertEquals(Map.of("lr", 1e-2, "etas", java.util.List.of(0.5, 1.2), "step_sizes",
                java.util.List.of(1e-6, 50.0), "maximize", false, "state_dtype", "fp32"),
                OptimizerConfig.of("rprop", Map.of()).hyperparameters());
        assertEquals(Map.of("lr", 1e-2, "lambd", 1e-4, "alpha", 0.75, "t0", 1e6, "weight_decay", 0.0,
                "maximize", false, "state_dtype", "fp32"), OptimizerConfig.of("asgd", Map.of()).hyperparameters());
        // Lion: lion-pytorch's defaults.
        assertEquals(Map.of("lr", 1e-4, "betas", java.util.List.of(0.9, 0.99), "weight_decay", 0.0,
                "maximize", false, "state_dtype", "fp32", "min_8bit_size", 4096.0),
                OptimizerConfig.of("lion", Map.of()).hyperparameters());
        // LAMB: optax.lamb's defaults.
        assertEquals(Map.of("lr", 1e-3, "betas", java.util.List.of(0.9, 0.999), "eps", 1e-6, "weight_decay", 0.0,
                "maximize", false), OptimizerConfig.of("lamb", Map.of()).hyperparameters());
        Sgd nesterov = (Sgd) OptimizerConfig.of("nesterov", Map.of("lr", "0.1"));
        assertEquals(0.9, nesterov.number("momentum"));
        assertEquals("nesterov", nesterov.algorithm());
        assertEquals("momentum", OptimizerConfig.of("sgd", Map.of("lr", "1", "momentum", "0.5")).algorithm());
        assertEquals("sgd", OptimizerConfig.of("momentum", Map.of("lr", "1", "momentum", "0")).algorithm());
    }

    @Test
    void sizeMismatchesAndMisuseAreRejectedWithoutChange() {
        try (Optimizer opt = Optimizer.reference(Adam.builder().build(), 4)) {
            float[] p = {1, 2, 3, 4};
            opt.writeParameters(p);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> opt.writeParameters(new float[3]));
            assertEquals("parameters: expected 4 floats, got 3", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> opt.writeGradients(new float[5]));
            assertThrows(IllegalArgumentException.class, () -> opt.readParameters(new float[0]));
            e = assertThrows(IllegalArgumentException.class, () -> opt.readState("sum", new float[4]));
            assertEquals("unknown state 'sum' for adam (has: exp_avg, exp_avg_sq)", e.getMessage());
            float[] out = new float[4];
            opt.readParameters(out);
            assertEquals(java.util.Arrays.toString(p), java.util.Arrays.toString(out));
            assertEquals(0, opt.stepCount());
        }
        assertThrows(IllegalArgumentException.class, () -> Optimizer.reference(Adam.builder().build(), -1));
        Optimizer closed = Optimizer.reference(Adam.builder().build(), 1);
        closed.close();
        closed.close();
        assertThrows(IllegalStateException.class, closed::step);
    }

    @Test
    void aReferenceTheHeapCannotHoldSaysSo() {
        // 2^31 - 9 floats is 8 GiB an array, more than any default heap here: it fails at once.
        HostMemoryException e = assertThrows(HostMemoryException.class,
                () -> Optimizer.reference(Adam.builder().build(), Integer.MAX_VALUE - 8));
        assertTrue(e.getMessage().contains("of Java heap") && e.getMessage().contains("-Xmx"), e.getMessage());
    }
}

package org.clopt.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntToDoubleFunction;
import java.util.stream.Stream;
import org.clopt.Adagrad;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Sgd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rejected argument, spec and step: an IllegalArgumentException (IllegalStateException
 * for a step) with a one-line message that names the scheduler, the argument, the value and
 * what is allowed; and the set unchanged after it.
 */
class ScheduleValidationTest {
    /** A set of kind "sgd", "adam", "two" (see GoldenSchedules), "plain" (SGD without momentum) or "adagrad". */
    static ParameterSet set(String kind) {
        switch (kind) {
            case "plain":
                return ParameterSet.builder().group(Sgd.builder().lr(0.1).build()).tensor("w", 1).buildReference();
            case "adagrad":
                return ParameterSet.builder().group(Adagrad.builder().build()).tensor("w", 1).buildReference();
            default:
                return GoldenSchedules.set(kind);
        }
    }

    static Arguments row(String set, Consumer<ParameterSet> make, String... fragments) {
        return Arguments.of(set, make, fragments);
    }

    static Stream<Arguments> constructors() {
        return Stream.of(
                row("sgd", s -> new StepLR(s, 0), "StepLR: invalid step_size: 0 (must be an integer >= 1)"),
                row("sgd", s -> new StepLR(s, 3, Double.NaN), "StepLR: invalid gamma: nan (must be a finite number)"),
                row("sgd", s -> new MultiStepLR(s, null), "MultiStepLR: milestones is null"),
                row("sgd", s -> new MultiStepLR(s, Arrays.asList(3, null)), "MultiStepLR: milestones[1] is null"),
                row("sgd", s -> new MultiStepLR(s, List.of(3), Double.POSITIVE_INFINITY), "invalid gamma: inf"),
                row("sgd", s -> new ConstantLR(s, 1.5, 5), "ConstantLR: invalid factor: 1.5 (must be in [0.0, 1.0])"),
                row("sgd", s -> new ConstantLR(s, -0.25, 5), "ConstantLR: invalid factor: -0.25"),
                row("sgd", s -> new LinearLR(s, 0.0, 1.0, 5), "LinearLR: invalid start_factor: 0.0 (must be in (0.0, 1.0])"),
                row("sgd", s -> new LinearLR(s, 0.5, 1.5, 5), "LinearLR: invalid end_factor: 1.5 (must be in [0.0, 1.0])"),
                row("sgd", s -> new ExponentialLR(s, Double.NEGATIVE_INFINITY), "ExponentialLR: invalid gamma: -inf"),
                row("sgd", s -> new PolynomialLR(s, 5, Double.NaN), "PolynomialLR: invalid power: nan"),
                row("sgd", s -> new CosineAnnealingLR(s, 0), "CosineAnnealingLR: invalid T_max: 0 (must be an integer >= 1)"),
                row("sgd", s -> new CosineAnnealingLR(s, 10, Double.NaN), "CosineAnnealingLR: invalid eta_min: nan"),
                row("sgd", s -> new CosineAnnealingLR(s, 10, new double[] {0, 0}),
                        "CosineAnnealingLR: eta_min has 2 values but the set has 1 parameter groups"),
                row("two", s -> new CosineAnnealingLR(s, 10, new double[] {0, Double.NaN}), "invalid eta_min[1]: nan"),
                row("sgd", s -> new CosineAnnealingWarmRestarts(s, 0), "CosineAnnealingWarmRestarts: invalid T_0: 0"),
                row("sgd", s -> new CosineAnnealingWarmRestarts(s, 10, 0, 0.0),
                        "CosineAnnealingWarmRestarts: invalid T_mult: 0 (must be an integer >= 1)"),
                row("two", s -> new LambdaLR(s, List.of(e -> 1.0)), "LambdaLR: expected 2 lr_lambdas (one per parameter group), got 1"),
                row("sgd", s -> new LambdaLR(s, (IntToDoubleFunction) null), "LambdaLR: lr_lambda is null"),
                row("sgd", s -> new LambdaLR(s, e -> -1.0), "LambdaLR: group 0: invalid lr: -0.1 (must be"),
                row("two", s -> new MultiplicativeLR(s, List.of(e -> 1.0, e -> 1.0, e -> 1.0)),
                        "MultiplicativeLR: expected 2 lr_lambdas"),
                row("sgd", s -> CyclicLR.builder().maxLr(0.1).build(s), "CyclicLR: missing required argument base_lr"),
                row("sgd", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1).stepSizeUp(0).build(s),
                        "CyclicLR: invalid step_size_up: 0 (must be an integer >= 1)"),
                row("sgd", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1).stepSizeDown(-1).build(s),
                        "CyclicLR: invalid step_size_down: -1 (must be an integer >= 0)"),
                row("sgd", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1).mode("triangle").build(s),
                        "CyclicLR: invalid mode: 'triangle' (must be one of 'triangular', 'triangular2', 'exp_range'"),
                row("sgd", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1).scaleFn(x -> 1).scaleMode("epoch").build(s),
                        "CyclicLR: invalid scale_mode: 'epoch' (must be 'cycle' or 'iterations')"),
                row("two", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1, 0.2, 0.3).build(s),
                        "CyclicLR: max_lr has 3 values but the set has 2 parameter groups"),
                row("sgd", s -> CyclicLR.builder().baseLr(0.01).maxLr(-0.1).build(s),
                        "CyclicLR: group 0: invalid lr: -0.1 (must be"),
                row("plain", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1).build(s),
                        "CyclicLR: group 0: momentum 0.9 would turn the group's sgd into momentum",
                        "pass cycle_momentum=False"),
                row("sgd", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1).baseMomentum(0).build(s),
                        "CyclicLR: group 0: momentum 0.0 would turn the group's momentum into sgd"),
                row("adagrad", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1).build(s),
                        "CyclicLR: cycle_momentum=True needs momentum or betas, but group 0 is adagrad"),
                row("adam", s -> CyclicLR.builder().baseLr(0.01).maxLr(0.1).maxMomentum(1.0).build(s),
                        "CyclicLR: group 0: invalid betas[0]: 1.0 (must be in [0, 1))"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).build(s),
                        "OneCycleLR: give either total_steps or both epochs and steps_per_epoch"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).epochs(3).build(s), "give either total_steps"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).totalSteps(0).build(s),
                        "OneCycleLR: invalid total_steps: 0 (must be an integer >= 1)"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).epochs(0).stepsPerEpoch(10).build(s),
                        "OneCycleLR: invalid epochs: 0"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).epochs(65536).stepsPerEpoch(65536).build(s),
                        "OneCycleLR: epochs * steps_per_epoch = 4294967296 steps is more than 2147483647"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).totalSteps(10).pctStart(1.5).build(s),
                        "OneCycleLR: invalid pct_start: 1.5 (must be in [0.0, 1.0])"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).totalSteps(10).annealStrategy("cosine").build(s),
                        "OneCycleLR: invalid anneal_strategy: 'cosine' (must be 'cos' or 'linear')"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).totalSteps(10).divFactor(0).build(s),
                        "OneCycleLR: invalid div_factor: 0.0 (must be non-zero"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).totalSteps(10).finalDivFactor(0).build(s),
                        "OneCycleLR: invalid final_div_factor: 0.0"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).totalSteps(10).divFactor(-25).build(s),
                        "OneCycleLR: group 0: invalid lr: -0.004"),
                row("sgd", s -> OneCycleLR.builder().maxLr(0.1).totalSteps(2).pctStart(0.5).threePhase(true).build(s),
                        "OneCycleLR: float division by zero (as in PyTorch, which raises here)"),
                row("sgd", s -> ReduceLROnPlateau.builder().factor(1.0).build(s),
                        "ReduceLROnPlateau: invalid factor: 1.0 (must be a finite number < 1.0)"),
                row("sgd", s -> ReduceLROnPlateau.builder().mode("minimum").build(s),
                        "ReduceLROnPlateau: invalid mode: 'minimum' (must be 'min' or 'max')"),
                row("sgd", s -> ReduceLROnPlateau.builder().thresholdMode("relative").build(s),
                        "ReduceLROnPlateau: invalid threshold_mode: 'relative' (must be 'rel' or 'abs')"),
                row("sgd", s -> ReduceLROnPlateau.builder().minLr(0, 0).build(s),
                        "ReduceLROnPlateau: min_lr has 2 values but the set has 1 parameter groups"),
                row("sgd", s -> new SequentialLR(s, List.of(), List.of()), "SequentialLR: expects at least one scheduler, got none"),
                row("sgd", s -> new SequentialLR(s, List.of(new StepLR(s, 3), new StepLR(s, 4)), List.of()),
                        "SequentialLR: expects one milestone fewer than schedulers, got 2 schedulers and 0 milestones"),
                row("sgd", s -> new SequentialLR(s, List.of(new StepLR(s, 3),
                                new ChainedScheduler(s, List.of(new StepLR(s, 4)))), List.of(5)),
                        "SequentialLR: scheduler 1 is a ChainedScheduler, which PyTorch cannot start at a milestone"),
                row("sgd", s -> new ChainedScheduler(s, List.of()), "ChainedScheduler: expects at least one scheduler"),
                row("sgd", s -> {
                    try (ParameterSet other = set("sgd")) {
                        new ChainedScheduler(s, List.of(new StepLR(other, 3)));
                    }
                }, "ChainedScheduler: scheduler 0 (StepLR) belongs to another parameter set"));
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("constructors")
    void constructorsRefuseWithAClearMessageAndLeaveTheSetAlone(String kind, Consumer<ParameterSet> make,
                                                                 String[] fragments) {
        try (ParameterSet set = set(kind)) {
            List<OptimizerConfig> before = configs(set);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> make.accept(set));
            assertMessage(e, fragments);
            if (!fragments[0].startsWith("Sequential") && !fragments[0].startsWith("Chained")) {
                assertEquals(before, configs(set), "the configurations are as they were");
                assertTrue(set.stateDict().schedulers().isEmpty(), "nothing attached");
            }
        }
    }

    static Stream<Arguments> specs() {
        return Stream.of(
                Arguments.of("Foo(1)", new String[] {"unknown scheduler 'Foo' (known: LambdaLR, MultiplicativeLR, StepLR,"}),
                Arguments.of("StepLR(gama=0.5, step_size=3)",
                        new String[] {"StepLR: unknown argument 'gama' (allowed: step_size, gamma, last_epoch)"}),
                Arguments.of("StepLR()", new String[] {"StepLR: missing required argument step_size"}),
                Arguments.of("StepLR", new String[] {"StepLR: missing required argument step_size"}),
                Arguments.of("StepLR(step_size=2.5)", new String[] {"StepLR: step_size must be an integer, not 2.5"}),
                Arguments.of("StepLR(step_size='3')", new String[] {"StepLR: step_size must be an integer, not '3'"}),
                Arguments.of("StepLR(step_size=True)", new String[] {"StepLR: step_size must be an integer, not True"}),
                Arguments.of("StepLR(3, 0.1, -1, 4)",
                        new String[] {"StepLR takes at most 3 arguments (step_size, gamma, last_epoch), got 4"}),
                Arguments.of("StepLR(3, step_size=4)", new String[] {"StepLR: got multiple values for argument 'step_size'"}),
                Arguments.of("StepLR(step_size=3, step_size=4)", new String[] {"keyword argument repeated: step_size"}),
                Arguments.of("StepLR(step_size=3, 0.1)",
                        new String[] {"invalid scheduler spec \"StepLR(step_size=3, 0.1)\": positional argument follows "
                                + "keyword argument at column 21"}),
                Arguments.of("StepLR(step_size=3", new String[] {"expected ',' or ')' at its end"}),
                Arguments.of("StepLR(step_size=3))", new String[] {"unexpected ')' at column 20"}),
                Arguments.of("StepLR(step_size=)", new String[] {"expected a value at column 18"}),
                Arguments.of("", new String[] {"expected a scheduler class name at its end"}),
                Arguments.of("StepLR(step_size=3, gamma=1e)", new String[] {"invalid number"}),
                Arguments.of("StepLR(step_size=3, gamma=0.5x)", new String[] {"invalid number"}),
                Arguments.of("StepLR(step_size=99999999999999999999)", new String[] {"integer too large"}),
                Arguments.of("StepLR(step_size=3, last_epoch=5)",
                        new String[] {"StepLR: invalid last_epoch: 5 (must be -1: a schedule starts at its beginning; "
                                + "to resume one, load its state dict)"}),
                Arguments.of("StepLR(step_size=0)", new String[] {"StepLR: invalid step_size: 0 (must be an integer >= 1)"}),
                Arguments.of("CyclicLR(base_lr=1e-4, max_lr=1e-2, mode=triangular2)",
                        new String[] {"name 'triangular2' is not defined (write a string in quotes: 'triangular2')"}),
                Arguments.of("CyclicLR(base_lr=1e-4, max_lr=1e-2, mode='triangle')",
                        new String[] {"CyclicLR: invalid mode: 'triangle' (must be one of 'triangular', 'triangular2', "
                                + "'exp_range')"}),
                Arguments.of("CyclicLR(base_lr='1e-4', max_lr=1e-2)",
                        new String[] {"CyclicLR: base_lr must be a number or a list of one number per parameter group, "
                                + "not '1e-4'"}),
                Arguments.of("CyclicLR(base_lr=1e-4, max_lr=1e-2, scale_fn='x')",
                        new String[] {"CyclicLR: scale_fn needs a Java function, which text cannot give"}),
                Arguments.of("CyclicLR(base_lr='a, max_lr=1)", new String[] {"unterminated string"}),
                Arguments.of("CyclicLR(base_lr=1e-4, max_lr=1e-2, cycle_momentum=false)",
                        new String[] {"name 'false' is not defined"}),
                Arguments.of("OneCycleLR(max_lr=0.01, total_steps=100, three_phase=1)",
                        new String[] {"OneCycleLR: three_phase must be True or False, not 1"}),
                Arguments.of("MultiStepLR(milestones=3)", new String[] {"MultiStepLR: milestones must be a list of integers, not 3"}),
                Arguments.of("MultiStepLR(milestones=[3, 4.5])",
                        new String[] {"MultiStepLR: milestones must be a list of integers, not [3, 4.5]"}),
                Arguments.of("LambdaLR(lr_lambda=None)", new String[] {"LambdaLR needs a Java function (lr_lambda)"}),
                Arguments.of("MultiplicativeLR()", new String[] {"MultiplicativeLR needs a Java function (lr_lambda)"}),
                Arguments.of("ReduceLROnPlateau(mode='max')",
                        new String[] {"ReduceLROnPlateau needs a metric at every step, which the command line cannot give"}),
                Arguments.of("SequentialLR()", new String[] {"give them as several specs with milestones"}),
                Arguments.of("ChainedScheduler()", new String[] {"give them as several specs without milestones"}));
    }

    @ParameterizedTest(name = "{index}: {0}")
    @MethodSource("specs")
    void specsRefuseWithAClearMessage(String spec, String[] fragments) {
        try (ParameterSet set = set("sgd")) {
            List<OptimizerConfig> before = configs(set);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> Schedulers.parse(set, spec)), fragments);
            assertEquals(before, configs(set));
            assertTrue(set.stateDict().schedulers().isEmpty());
        }
    }

    @Test
    void specsReadPythonSyntax() {
        try (ParameterSet set = set("two")) {
            LRScheduler s = Schedulers.parse(set, "  CosineAnnealingLR ( T_max = 90 , eta_min = 1e-5 , ) ");
            assertEquals("CosineAnnealingLR(T_max=90, eta_min=1e-05)", s.toString());
        }
        try (ParameterSet set = set("two")) {
            assertEquals("MultiStepLR(milestones=[2, 5, 9], gamma=0.5)",
                    Schedulers.parse(set, "MultiStepLR(milestones=(2, 5, 9), gamma=.5)").toString());
        }
        try (ParameterSet set = set("two")) {
            CyclicLR s = (CyclicLR) Schedulers.parse(set, "CyclicLR(base_lr=[1e-4, 1e-5], max_lr=1E-2, "
                    + "mode=\"triangular2\", step_size_down=None, scale_fn=None, cycle_momentum=False, last_epoch=-1)");
            assertArrayEquals(new double[] {1e-4, 1e-5}, s.getLastLr());
            assertThrows(IllegalStateException.class, s::getLastMomentum);
        }
        try (ParameterSet set = set("sgd")) {
            assertEquals(0.1 / 3, Schedulers.parse(set, "ConstantLR").getLastLr()[0]);
        }
        try (ParameterSet set = set("sgd")) {
            assertEquals(0.1, Schedulers.parse(set, "ExponentialLR(1)").getLastLr()[0]);
        }
        try (ParameterSet set = set("adam")) {
            OneCycleLR s = (OneCycleLR) Schedulers.parse(set, "OneCycleLR(0.01, None, 10, 100, 0.25, 'linear', True, (0.85,), [0.95])");
            assertEquals(0.95, s.getLastMomentum()[0]);
            assertEquals(0.95, set.config(0).pair("betas", 0));
            assertEquals(0.999, set.config(0).pair("betas", 1));
        }
    }

    @Test
    void namesAndUsage() {
        assertEquals(List.of("LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
                "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau",
                "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR"), Schedulers.names());
        assertFalse(Schedulers.specNames().contains("LambdaLR"));
        assertEquals(10, Schedulers.specNames().size());
        assertEquals("StepLR(step_size, gamma=0.1, last_epoch=-1)", Schedulers.usage("StepLR"));
        assertEquals("CyclicLR(base_lr, max_lr, step_size_up=2000, step_size_down=None, mode='triangular', gamma=1.0, "
                + "scale_fn=None, scale_mode='cycle', cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, "
                + "last_epoch=-1)", Schedulers.usage("CyclicLR"));
        assertEquals("ConstantLR(factor=0.3333333333333333, total_iters=5, last_epoch=-1)", Schedulers.usage("ConstantLR"));
        assertEquals("ReduceLROnPlateau(mode='min', factor=0.1, patience=10, threshold=0.0001, threshold_mode='rel', "
                + "cooldown=0, min_lr=0.0, eps=1e-08)", Schedulers.usage("ReduceLROnPlateau"));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Schedulers.usage("Nope")),
                new String[] {"unknown scheduler 'Nope' (known: LambdaLR"});
    }

    @Test
    void severalSpecsMakeASequenceOrAChainAndAFailureUndoesThemAll() {
        try (ParameterSet set = set("sgd")) {
            LRScheduler s = Schedulers.of(set, List.of("ConstantLR(factor=0.1, total_iters=20)", "ExponentialLR(gamma=0.9)"),
                    List.of(20));
            assertTrue(s instanceof SequentialLR);
            assertEquals(1, set.stateDict().schedulers().size());
        }
        try (ParameterSet set = set("sgd")) {
            assertTrue(Schedulers.of(set, List.of("StepLR(3)", "ExponentialLR(0.9)"), null) instanceof ChainedScheduler);
        }
        try (ParameterSet set = set("sgd")) {
            assertTrue(Schedulers.of(set, List.of("StepLR(3)"), List.of()) instanceof StepLR);
        }
        String[][] failures = {
            {"milestones [5] need two or more scheduler specs (a SequentialLR); got one: StepLR(3)"},
            {"no scheduler spec given"},
            {"SequentialLR: expects one milestone fewer than schedulers, got 2 schedulers and 2 milestones"},
            {"ExponentialLR: missing required argument gamma"},
        };
        List<Consumer<ParameterSet>> attempts = List.of(
            s -> Schedulers.of(s, List.of("StepLR(3)"), List.of(5)),
            s -> Schedulers.of(s, List.of(), null),
            s -> Schedulers.of(s, List.of("LinearLR()", "StepLR(3)"), List.of(5, 6)),
            s -> Schedulers.of(s, List.of("LinearLR(start_factor=0.5)", "ExponentialLR()"), null));
        for (int i = 0; i < attempts.size(); i++) {
            Consumer<ParameterSet> attempt = attempts.get(i);
            try (ParameterSet set = set("sgd")) {
                List<OptimizerConfig> before = configs(set);
                assertMessage(assertThrows(IllegalArgumentException.class, () -> attempt.accept(set)), failures[i]);
                assertEquals(before, configs(set));
                assertTrue(set.stateDict().schedulers().isEmpty());
                // The initial lrs were undone too: a scheduler made now starts from the group's lr.
                assertEquals(0.1, new StepLR(set, 3).getLastLr()[0]);
            }
        }
    }

    @Test
    void oneCycleStopsAfterItsTotalStepsAndAFailedStepChangesNothing() {
        try (ParameterSet set = set("sgd")) {
            OneCycleLR s = OneCycleLR.builder().maxLr(0.1).totalSteps(10).build(set);
            for (int t = 0; t < 10; t++) {
                s.step();
            }
            Map<String, Object> state = s.stateDict();
            List<OptimizerConfig> configs = configs(set);
            IllegalStateException e = assertThrows(IllegalStateException.class, s::step);
            assertMessage(e, new String[] {"OneCycleLR: step to epoch 11 failed: tried to step 11 times; the specified "
                    + "number of total steps is 10"});
            assertEquals(state, s.stateDict());
            assertEquals(configs, configs(set));
        }
        try (ParameterSet set = set("sgd")) {
            // The linear third phase, one step past its end, goes below zero: PyTorch takes a
            // negative lr, a clopt configuration does not.
            OneCycleLR s = OneCycleLR.builder().maxLr(0.01).totalSteps(1000).annealStrategy("linear").threePhase(true)
                    .build(set);
            for (int t = 0; t < 999; t++) {
                s.step();
            }
            List<OptimizerConfig> configs = configs(set);
            // The step itself succeeds, as PyTorch's (a loop's last scheduler step) ...
            s.step();
            assertTrue(s.getLastLr()[0] < 0, "PyTorch's get_last_lr() is below zero");
            assertEquals(configs, configs(set));
            // ... but the set will not step with it, nor will the scheduler step again.
            String[] why = {"OneCycleLR at epoch 1000 gave group 0 the lr -9.574", "which no optimizer takes"};
            assertMessage(assertThrows(IllegalStateException.class, set::step), why);
            assertMessage(assertThrows(IllegalStateException.class, s::step), why);
            // A state saved now carries it on into a resumed run.
            Map<String, Object> saved = s.stateDict();
            try (ParameterSet again = set("sgd")) {
                OneCycleLR resumed = OneCycleLR.builder().maxLr(0.01).totalSteps(1000).annealStrategy("linear")
                        .threePhase(true).build(again);
                resumed.loadStateDict(saved);
                assertMessage(assertThrows(IllegalStateException.class, again::step), why);
            }
        }
    }

    @Test
    void plateauActsOnGroupsAddedLaterWithAScalarMinLrOnly() {
        try (ParameterSet set = set("sgd")) {
            ReduceLROnPlateau s = ReduceLROnPlateau.builder().patience(0).minLr(0.05).build(set);
            set.addGroup(Sgd.momentumBuilder().lr(1.0).build(), new ParameterSet.TensorSpec("v", 1));
            s.step(1.0);
            s.step(2.0);
            assertArrayEquals(new double[] {0.05, 0.1}, s.getLastLr());
        }
        try (ParameterSet set = set("two")) {
            ReduceLROnPlateau s = ReduceLROnPlateau.builder().patience(0).minLr(0.05, 0.001).build(set);
            set.addGroup(Sgd.momentumBuilder().lr(1.0).build(), new ParameterSet.TensorSpec("u", 1));
            s.step(1.0);
            Map<String, Object> state = s.stateDict();
            assertMessage(assertThrows(IllegalStateException.class, () -> s.step(2.0)),
                    new String[] {"ReduceLROnPlateau: the set has 3 parameter groups and min_lr has 2 values"});
            assertEquals(state, s.stateDict());
            assertEquals(0.1, set.config(0).lr());
        }
    }

    @Test
    void aScheduleThatWouldSwitchMomentumOffFailsAtConstruction() {
        try (ParameterSet set = set("two")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OneCycleLR.builder().maxLr(0.1).totalSteps(100).baseMomentum(0.85, 0.0).build(set));
            assertMessage(e, new String[] {"OneCycleLR: group 1: momentum 0.0 would turn the group's momentum into sgd"});
            assertEquals(0.1, set.config(0).lr());
            assertEquals(0.9, set.config(0).number("momentum"));
        }
    }

    static List<OptimizerConfig> configs(ParameterSet set) {
        return java.util.stream.IntStream.range(0, set.groupCount()).mapToObj(set::config).toList();
    }

    static void assertMessage(RuntimeException e, String[] fragments) {
        String m = e.getMessage();
        for (String f : fragments) {
            assertTrue(m.contains(f), "message \"" + m + "\" lacks \"" + f + "\"");
        }
        assertFalse(m.contains("\n"), "one line: " + m);
    }
}

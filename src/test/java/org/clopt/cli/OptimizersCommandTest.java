package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.clopt.Algorithms;
import org.junit.jupiter.api.Test;

/** The optimizers command and the help texts show the registry, not a list of their own. */
class OptimizersCommandTest {

    @Test
    void namesAreTheRegistrysInOrder() {
        assertEquals(Algorithms.NAMES, Cli.run(0, "optimizers", "--names").lines());
    }

    @Test
    void theTableGivesEveryHyperparameterAndDefault() {
        Cli.Result r = Cli.run(0, "optimizers");
        long rows = r.lines().stream().filter(l -> !l.startsWith(" ")).count();
        assertEquals(Algorithms.NAMES.size(), rows, r.out());
        assertTrue(r.out().contains("sgd        lr=0.001 momentum=0 dampening=0"), r.out());
        assertTrue(r.out().contains("weight_decay=0.01"), r.out());
        assertTrue(r.lines().stream().allMatch(l -> l.length() <= 78), r.out());
    }

    @Test
    void helpTextsListTheRegistry() {
        for (String command : new String[] {"replay", "bench"}) {
            String help = Cli.run(0, command, "--help").out();
            assertTrue(help.contains("  adamw      lr=0.001 betas=0.9,0.999"), help);
            assertTrue(help.replaceAll("\\s+", "").contains(String.join(",", Algorithms.NAMES)), help);
        }
        String train = Cli.run(0, "train", "--help").out();
        assertTrue(train.replaceAll("\\s+", "").contains(String.join(",", Algorithms.NAMES)), train);
    }
}

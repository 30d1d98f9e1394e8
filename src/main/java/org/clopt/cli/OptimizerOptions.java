package org.clopt.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import org.clopt.Algorithms;
import org.clopt.OptimizerConfig;
import picocli.CommandLine.Option;

/** The options that choose an optimizer and its hyperparameters. */
final class OptimizerOptions {
    @Option(names = "--optimizer", required = true, paramLabel = "NAME",
            completionCandidates = AlgorithmNames.class,
            description = "One of: ${COMPLETION-CANDIDATES} (hyperparameters and defaults below).")
    String optimizer;

    @Option(names = "--set", paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = "A hyperparameter under its PyTorch name; repeatable. Tuples are "
                + "comma-separated (betas=0.9,0.999), booleans true/false.")
    Map<String, String> settings = new LinkedHashMap<>();

    OptimizerConfig config() {
        try {
            return OptimizerConfig.of(optimizer, settings);
        } catch (IllegalArgumentException e) {
            String flag = Algorithms.NAMES.contains(optimizer) ? "--set" : "--optimizer";
            throw new BadInputException(flag + ": " + e.getMessage(), e);
        }
    }
}

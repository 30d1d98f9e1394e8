package org.clopt.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.clopt.Algorithm;
import org.clopt.Algorithms;
import org.clopt.Hyperparameter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code optimizers}: the registry, one algorithm a row with its hyperparameters and defaults. */
@Command(name = "optimizers", mixinStandardHelpOptions = true,
        description = {"Lists every optimizer clopt runs, with its hyperparameters under PyTorch's "
            + "names and their defaults. These are the names --optimizer takes and the keys --set "
            + "takes."})
final class OptimizersCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--names", description = "Only the names, one per line.")
    boolean names;

    @Override
    public Integer call() {
        List<String> lines = names ? Algorithms.NAMES : table();
        lines.forEach(spec.commandLine().getOut()::println);
        return 0;
    }

    /** One row per algorithm: its name, then its hyperparameters, wrapped under the name at 78 columns. */
    static List<String> table() {
        List<String> lines = new ArrayList<>();
        for (Algorithm a : Algorithms.ALL) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-10s", a.name()));
            for (Hyperparameter h : a.hyperparameters()) {
                String part = " " + h;
                if (line.length() + part.length() > 78) {
                    lines.add(line.toString());
                    line = new StringBuilder(" ".repeat(10));
                }
                line.append(part);
            }
            lines.add(line.toString());
        }
        return lines;
    }
}

package org.clopt.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.clopt.CloptException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code clopt} command line. Bad input of any kind ends with one line on stderr and exit
 * code 2; nothing is written.
 */
@Command(name = "clopt", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Neural-network optimizers as OpenCL kernels.",
        subcommands = {TrainCommand.class, ReplayCommand.class, BenchCommand.class, VerifyCommand.class, DevicesCommand.class,
            OptimizersCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Environment:",
            "  CLOPT_DEVICE   the OpenCL device to use: P:D (platform and device index) or",
            "                 a part of \"platform: device name\"; default: the first GPU,",
            "                 else the first device. --device-name overrides it."})
public final class Main implements Runnable {
    /** Exit code for bad input: arguments, files, or a missing OpenCL runtime. */
    static final int BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code. */
    static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line with these streams for output and messages. */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler(Main::badArguments);
        cli.setExecutionExceptionHandler(Main::failed);
        listHyperparameters(cli);
        return cli.execute(args);
    }

    /** Adds every algorithm's hyperparameters and defaults, from the registry, to the help of the commands that take --set. */
    private static void listHyperparameters(CommandLine cli) {
        List<String> lines = new ArrayList<>(List.of("", "Optimizers, their hyperparameters (PyTorch names) and defaults:"));
        OptimizersCommand.table().forEach(line -> lines.add("  " + line));
        for (String command : List.of("replay", "bench")) {
            CommandLine.Model.UsageMessageSpec usage = cli.getSubcommands().get(command).getCommandSpec().usageMessage();
            List<String> footer = new ArrayList<>(List.of(usage.footer()));
            footer.addAll(lines);
            usage.footer(footer.toArray(String[]::new));
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static int badArguments(CommandLine.ParameterException e, String[] args) {
        PrintWriter err = e.getCommandLine().getErr();
        err.println(e.getCommandLine().getCommandName() + ": " + e.getMessage()
                + " (see --help)");
        err.flush();
        return BAD_INPUT;
    }

    private static int failed(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        PrintWriter err = cli.getErr();
        if (e instanceof BadInputException || e instanceof IllegalArgumentException
                || e instanceof CloptException || e instanceof IOException) {
            err.println(cli.getCommandName() + ": " + e.getMessage());
            err.flush();
            return BAD_INPUT;
        }
        err.println(cli.getCommandName() + ": internal error: " + e);
        if (System.getenv("CLOPT_DEBUG") != null) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    /** Reports the version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"clopt " + (v == null ? "(development build)" : v)};
        }
    }
}

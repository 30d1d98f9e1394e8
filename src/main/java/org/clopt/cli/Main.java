package org.clopt.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.clopt.CloptException;
import org.clopt.OpenClUnavailableException;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * The {@code clopt} command line. Every failure ends with one line on stderr (a stack trace only
 * with {@code CLOPT_DEBUG} set) and an exit code that says whose it is:
 *
 * <ul>
 *   <li>2, bad input: an argument, a value or an input file at fault, or an OpenCL setup that
 *       offers no device to run on (no runtime, no platform, a selection that matches nothing);
 *       nothing is written;
 *   <li>1, a runtime failure: a kernel that does not build, an OpenCL error, device or host
 *       memory exhausted, an output that cannot be written, or anything unexpected.
 * </ul>
 */
@Command(name = "clopt", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Neural-network optimizers as OpenCL kernels.",
        subcommands = {TrainCommand.class, ReplayCommand.class, BenchCommand.class, TuneCommand.class, VerifyCommand.class,
            DevicesCommand.class,
            OptimizersCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Environment:",
            "  CLOPT_DEVICE   the OpenCL device to use: P:D (platform and device index) or",
            "                 a part of \"platform: device name\"; default: the first GPU,",
            "                 else the first device. --device-name overrides it."})
public final class Main implements Runnable {
    /** Exit code for bad input: arguments, files, or no OpenCL device to run on. */
    static final int BAD_INPUT = 2;
    /** Exit code for a failure while running: kernel build, OpenCL, memory, writing outputs. */
    static final int RUNTIME_FAILURE = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (OutOfMemoryError e) {
            // An Error passes picocli's handler; it still gets one line and its exit code.
            System.err.println("clopt: out of Java heap (" + e.getMessage() + "); raise it with -Xmx");
            code = RUNTIME_FAILURE;
        }
        System.exit(code);
    }

    /** Runs the command line and returns the exit code. */
    static int run(String... args) {
        int code = run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
        // PrintStream keeps write errors to itself: a full disk or closed pipe behind stdout
        // would otherwise pass as success.
        if (System.out.checkError() && code == 0) {
            System.err.println("clopt: cannot write to standard output");
            return RUNTIME_FAILURE;
        }
        return code;
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
        int code = exitCode(e);
        String message = message(e, code, System.getenv("CLOPT_DEBUG") != null);
        err.println(cli.getCommandName() + ": " + message);
        if (System.getenv("CLOPT_DEBUG") != null) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    /**
     * The failure's one line (after the command's name): its message, or "internal error" for
     * the unexpected; a build log or other detail after the first line only when debugging.
     */
    static String message(Exception e, int code, boolean debug) {
        boolean known = code == BAD_INPUT || e instanceof CloptException || e instanceof IOException;
        String message = known ? String.valueOf(e.getMessage()) : "internal error: " + e;
        int newline = message.indexOf('\n');
        if (newline >= 0 && !debug) {
            message = message.substring(0, newline).stripTrailing() + " (set CLOPT_DEBUG=1 for the details)";
        }
        return message;
    }

    /** The exit code for a failure: see the class comment. */
    static int exitCode(Exception e) {
        if (e instanceof BadInputException || e instanceof IllegalArgumentException
                || e instanceof OpenClUnavailableException) {
            return BAD_INPUT;
        }
        return RUNTIME_FAILURE;
    }

    /** Reports the project's version, which the build writes into {@code version.properties}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in == null) {
                    throw new IOException("version.properties is missing from the build");
                }
                p.load(in);
            }
            return new String[] {"clopt " + p.getProperty("version")};
        }
    }
}

package org.clopt.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.DefaultProgressBarRenderer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import me.tongfei.progressbar.ProgressState;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Progress bars on stderr: redrawn in place when stderr is a terminal, elsewhere a plain line
 * every 2 s and one final line. Every line is at most {@value #LINE_WIDTH} characters wide, and
 * the extra message has a fixed width, so the bar keeps its width from line to line.
 */
final class Progress {
    /** Extra messages are padded to this width, so the bar keeps its width as they change. */
    private static final int MESSAGE_WIDTH = 36;
    /** The longest line, bar included (a narrower terminal narrows it). */
    static final int LINE_WIDTH = 120;

    private Progress() {
    }

    /** A bar whose time left is the bar's own estimate: elapsed time per unit times the units left. */
    static ProgressBar bar(CommandSpec spec, String task, long total) {
        return bar(spec, task, total, null);
    }

    /** A bar whose time left is the plan's estimate ({@link Plan#left}), or the bar's own without one. */
    static ProgressBar bar(CommandSpec spec, String task, long total, Plan plan) {
        ProgressBarBuilder builder = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                .setMaxRenderedLength(LINE_WIDTH)
                .setRenderer(new Renderer(plan != null ? state -> plan.left() : Progress::linearEta));
        if (!stderrIsTerminal()) {
            builder.setUpdateIntervalMillis(2000)
                    .setConsumer(new DelegatingProgressBarConsumer(new Lines(spec.commandLine().getErr()), LINE_WIDTH));
        }
        return builder.build();
    }

    /** Elapsed time per unit times the units left: the library's own estimate. */
    private static Optional<Duration> linearEta(ProgressState state) {
        long done = state.getCurrent() - state.getStart();
        if (done <= 0 || state.getMax() <= 0) {
            return Optional.empty();
        }
        Duration elapsed = state.getElapsedAfterStart();
        return Optional.of(elapsed.dividedBy(done).multipliedBy(Math.max(0, state.getMax() - state.getCurrent())));
    }

    /**
     * The library's ASCII bar, keeping the room of what is not there yet, so the bar has one
     * width from the first line on: the message's before the first message, and an unknown time
     * left as "-:--:--", as wide as a known one.
     */
    private static final class Renderer extends DefaultProgressBarRenderer {
        Renderer(Function<ProgressState, Optional<Duration>> eta) {
            super(ProgressBarStyle.ASCII, "", 1, false, null, ChronoUnit.SECONDS, true, eta);
        }

        @Override
        protected String etaString(ProgressState state) {
            String eta = super.etaString(state);
            return eta.equals("?") ? "-:--:--" : eta;
        }

        @Override
        public String render(ProgressState state, int maxLength) {
            if (state.getExtraMessage() == null || state.getExtraMessage().isEmpty()) {
                return super.render(state, maxLength - MESSAGE_WIDTH) + " ".repeat(MESSAGE_WIDTH);
            }
            return super.render(state, maxLength);
        }
    }

    /**
     * The time left of work made of parts whose steps cost differently (a Rosenbrock step costs
     * several digits steps): each part's steps left times that part's measured time per step. A
     * part not yet started is estimated from the measured parts, scaled by the ratio of the parts'
     * cost hints; once it runs, its own time per step replaces the hint. Thread-safe: the bar
     * asks from its own thread.
     */
    static final class Plan {
        private final Map<String, long[]> parts = new LinkedHashMap<>(); // name -> {steps planned, steps done, ns}
        private final Map<String, Double> hints = new LinkedHashMap<>();
        private final LongSupplier clock;
        private long last;

        /** A plan timed by {@link System#nanoTime}. */
        Plan() {
            this(System::nanoTime);
        }

        /** A plan timed by {@code clock} (nanoseconds). */
        Plan(LongSupplier clock) {
            this.clock = clock;
            this.last = clock.getAsLong();
        }

        /**
         * Adds {@code steps} steps of part {@code name}, whose step costs about {@code hint}
         * (in any unit shared by all parts) until its own steps are timed.
         */
        synchronized Plan add(String name, long steps, double hint) {
            parts.computeIfAbsent(name, n -> new long[4])[0] += steps;
            hints.put(name, hint);
            return this;
        }

        /** Starts the clock: the time until the first step counts against that step. */
        synchronized void start() {
            last = clock.getAsLong();
        }

        /** One step of part {@code name} is done: the time since the previous step is its cost. */
        synchronized void stepped(String name) {
            long now = clock.getAsLong();
            long[] part = parts.get(name);
            if (part != null) {
                if (part[1] > 0) {
                    part[2]++;
                    part[3] += now - last;
                }
                part[1]++;
            }
            last = now;
        }

        /** The estimated time left; empty until some step has been timed. */
        synchronized Optional<Duration> left() {
            // The measured parts' time per unit of hint, to estimate the parts not started yet.
            double measuredNs = 0;
            double measuredHint = 0;
            for (Map.Entry<String, long[]> e : parts.entrySet()) {
                long[] p = e.getValue();
                if (p[2] > 0) {
                    measuredNs += p[3];
                    measuredHint += p[2] * hints.get(e.getKey());
                }
            }
            if (measuredHint == 0) {
                return Optional.empty();
            }
            double leftNs = 0;
            for (Map.Entry<String, long[]> e : parts.entrySet()) {
                long[] p = e.getValue();
                long stepsLeft = Math.max(0, p[0] - p[1]);
                double perStep = p[2] > 0 ? (double) p[3] / p[2] : hints.get(e.getKey()) * measuredNs / measuredHint;
                leftNs += stepsLeft * perStep;
            }
            return Optional.of(Duration.ofNanos((long) leftNs));
        }
    }

    /** Plain lines, each printed once: the closing refresh repeats the last one if nothing moved. */
    private static final class Lines implements Consumer<String> {
        private final PrintWriter err;
        private String last = "";

        Lines(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void accept(String line) {
            String progress = withoutTimes(line.strip());
            if (!progress.equals(last)) {
                err.println(line.strip());
                err.flush();
                last = progress;
            }
        }
    }

    /** Sets the bar's message, padded or cut to one width. */
    static void say(ProgressBar bar, String message) {
        String m = message.length() > MESSAGE_WIDTH ? message.substring(0, MESSAGE_WIDTH) : message;
        bar.setExtraMessage(String.format("%-" + MESSAGE_WIDTH + "s", m));
    }

    /** A line without its "(elapsed / left)" part. */
    private static String withoutTimes(String line) {
        return line.replaceAll("\\([0-9:]+ / [0-9:?]+\\)", "").replaceAll("\\s+", " ");
    }

    /**
     * Whether stderr, where the bar is drawn, is a terminal: its file descriptor names a
     * terminal device. {@code System.console()} asks about stdin and stdout instead, which
     * sends cursor movements into {@code 2>log} from a terminal.
     */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return System.console() != null;
        }
    }
}

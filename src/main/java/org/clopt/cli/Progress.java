package org.clopt.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Progress bars on stderr: redrawn in place when stderr is a terminal, elsewhere a plain line
 * every 2 s and one final line.
 */
final class Progress {
    /** Extra messages are padded to this width, so the bar keeps its width as they change. */
    private static final int MESSAGE_WIDTH = 36;

    private Progress() {
    }

    static ProgressBar bar(CommandSpec spec, String task, long total) {
        ProgressBarBuilder builder = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII);
        if (!stderrIsTerminal()) {
            builder.setUpdateIntervalMillis(2000)
                    .setConsumer(new DelegatingProgressBarConsumer(new Lines(spec.commandLine().getErr())));
        }
        return builder.build();
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

package org.clopt.cli;

import java.io.PrintWriter;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Model.CommandSpec;

/** Progress bars on stderr: redrawn in place on a terminal, elsewhere a plain line every 2 s. */
final class Progress {
    private Progress() {
    }

    static ProgressBar bar(CommandSpec spec, String task, long total) {
        ProgressBarBuilder builder = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII);
        if (System.console() == null) {
            PrintWriter err = spec.commandLine().getErr();
            builder.setUpdateIntervalMillis(2000).setConsumer(new DelegatingProgressBarConsumer(line -> {
                err.println(line.strip());
                err.flush();
            }));
        }
        return builder.build();
    }
}

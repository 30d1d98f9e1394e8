package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train command's outputs and bad input; the losses must fall for every optimizer. */
class TrainCommandTest {
    @TempDir
    Path dir;

    static String[] run(int expectedCode, String... args) {
        Cli.Result r = Cli.run(expectedCode, args);
        return new String[] {r.out(), r.err()};
    }

    @Test
    void trainsEveryOptimizerOnBothWorkloadsAndWritesTheReport() throws IOException {
        Path out = dir.resolve("run");
        String[] r = run(0, "train", "--steps", "30", "--out", out.toString());
        List<String> csv = Files.readAllLines(out.resolve("loss.csv"));
        assertEquals("workload,optimizer,step,loss", csv.get(0));
        for (String workload : new String[] {"digits", "rosenbrock"}) {
            for (String optimizer : org.clopt.Algorithms.NAMES) {
                List<Double> losses = csv.stream().filter(l -> l.startsWith(workload + "," + optimizer + ","))
                        .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(',') + 1))).toList();
                assertTrue(losses.size() >= 3, workload + " " + optimizer);
                assertTrue(losses.get(losses.size() - 1) < losses.get(0),
                        workload + " " + optimizer + " loss did not fall: " + losses);
            }
        }
        assertTrue(ImageIO.read(out.resolve("loss.png").toFile()).getWidth() > 1000);
        assertTrue(r[0].contains("final loss") && r[0].contains("accuracy") && r[0].contains("rosenbrock"), r[0]);

        // Digits' held-out loss and accuracy at every logging step (1, 10, 20, 30), after the step.
        List<String> heldOut = Files.readAllLines(out.resolve("heldout.csv"));
        assertEquals("workload,optimizer,step,loss,accuracy", heldOut.get(0));
        assertEquals(1 + 4 * org.clopt.Algorithms.NAMES.size(), heldOut.size(), heldOut.toString());
        for (String optimizer : org.clopt.Algorithms.NAMES) {
            List<String[]> rows = heldOut.stream().filter(l -> l.startsWith("digits," + optimizer + ","))
                    .map(l -> l.split(",")).toList();
            assertEquals(List.of("1", "10", "20", "30"), rows.stream().map(f -> f[2]).toList(), optimizer);
            double first = Double.parseDouble(rows.get(0)[3]);
            double last = Double.parseDouble(rows.get(3)[3]);
            assertTrue(last < first, optimizer + " held-out loss did not fall: " + first + " -> " + last);
            // The last evaluation is of the final parameters: the table's accuracy.
            String accuracy = String.format(java.util.Locale.ROOT, "%.1f%%", 100 * Double.parseDouble(rows.get(3)[4]));
            assertTrue(r[0].lines().anyMatch(l -> l.matches("digits +" + optimizer + " .* " + java.util.regex.Pattern.quote(accuracy)
                    + " .*")), optimizer + " " + accuracy + "\n" + r[0]);
        }
        // The SVG carries the caption as text: how the figure was made.
        String svg = Files.readString(out.resolve("loss.svg"));
        assertTrue(svg.startsWith("<?xml") && svg.contains("<svg"), svg.substring(0, 200));
        // (Short phrases: a caption line may wrap between any two words.)
        for (String said : new String[] {"seed 1", "precision fp32", "mini-batches of 128", "1,000,448 parameters",
            "lr sgd 0.2", "digits: 30 steps", "rosenbrock: 30 steps"}) {
            assertTrue(svg.contains(said), "caption lacks '" + said + "'");
        }
    }

    /** A schedule and clipping: the lr recorded per logging step follows the schedule, plotted under the loss. */
    @Test
    void aScheduleAndClippingRunAndTheLearningRateIsPlotted() throws IOException {
        Path out = dir.resolve("scheduled");
        run(0, "train", "--workload", "digits", "--optimizer", "adam", "--steps", "40",
                "--scheduler", "LinearLR(start_factor=0.5,total_iters=10)", "--scheduler", "CosineAnnealingLR(T_max=30)",
                "--scheduler-milestones", "10", "--clip-grad-norm", "1.0", "--out", out.toString());
        List<String> lr = Files.readAllLines(out.resolve("lr.csv"));
        assertEquals("workload,optimizer,step,lr", lr.get(0));
        // Step 1 runs with half of digits' adam lr of 2e-3; the cosine ends near zero.
        assertEquals("digits,adam,1,0.001", lr.get(1));
        double last = Double.parseDouble(lr.get(lr.size() - 1).substring(lr.get(lr.size() - 1).lastIndexOf(',') + 1));
        assertTrue(last < 2e-5, lr.toString());
        List<String> csv = Files.readAllLines(out.resolve("loss.csv"));
        double first = Double.parseDouble(csv.get(1).substring(csv.get(1).lastIndexOf(',') + 1));
        double end = Double.parseDouble(csv.get(csv.size() - 1).substring(csv.get(csv.size() - 1).lastIndexOf(',') + 1));
        assertTrue(end < first, csv.toString());
        // Two rows of panels, the loss then the learning rate: a panel higher than without a
        // schedule, and at most two caption lines more (the schedule and the clipping).
        Path plain = dir.resolve("plain");
        run(0, "train", "--workload", "digits", "--optimizer", "adam", "--steps", "5", "--out", plain.toString());
        int extra = ImageIO.read(out.resolve("loss.png").toFile()).getHeight()
                - ImageIO.read(plain.resolve("loss.png").toFile()).getHeight();
        assertTrue(extra >= org.clopt.train.LossReport.PANEL_HEIGHT && extra <= org.clopt.train.LossReport.PANEL_HEIGHT + 36,
                "height difference " + extra);
        String caption = Files.readString(out.resolve("loss.svg"));
        assertTrue(caption.contains("CosineAnnealingLR(T_max=30)") && caption.contains("clip_grad_norm 1.0"),
                "the caption lacks the schedule or the clipping");
        assertTrue(Files.notExists(plain.resolve("lr.csv")));
    }

    @Test
    void badArgumentsAreOneLineAndExitTwo() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        for (String[] args : new String[][] {
            {"train", "--workload", "mnist"},
            {"train", "--optimizer", "adamx"},
            {"train", "--steps", "0"},
            {"train", "--steps", "many"},
            {"train", "--out", file.toString()},
            {"train", "--scheduler", "WarpLR(gamma=2)"},
            {"train", "--scheduler", "StepLR(step_size=0)"},
            {"train", "--scheduler-milestones", "3"},
            // Cycles momentum, which adagrad does not have: refused before any training.
            {"train", "--optimizer", "adagrad", "--scheduler", "OneCycleLR(max_lr=0.1,total_steps=100)"},
            {"train", "--clip-grad-norm", "-1"},
            {"train", "--clip-grad-norm", "1", "--norm-type", "3"},
            {"train", "--out", dir.toString()}, // holds "file": another run's, perhaps
            {"train", "--out", "/proc/nope"},
            {"train", "--precision", "fp8"},
        }) {
            String[] r = run(2, args);
            assertEquals(1, r[1].strip().lines().count(), r[1]);
        }
    }

    /** --set reaches every optimizer that has the key; the others are left out, and the notes say so. */
    @Test
    void setAppliesToTheOptimizersThatHaveTheKey() throws IOException {
        Path out = dir.resolve("bf16-state");
        Cli.Result r = Cli.run(0, "train", "--workload", "rosenbrock", "--steps", "5", "--set", "state_dtype=bf16",
                "--out", out.toString());
        assertTrue(r.err().contains("left out with --set state_dtype: lamb, adafactor (no such hyperparameter)"),
                r.err());
        List<String> csv = Files.readAllLines(out.resolve("loss.csv"));
        assertTrue(csv.stream().anyMatch(l -> l.startsWith("rosenbrock,adam,")), csv.toString());
        assertTrue(csv.stream().noneMatch(l -> l.startsWith("rosenbrock,lamb,")), csv.toString());
        Cli.rejected(Cli.run("train", "--optimizer", "lamb", "--set", "state_dtype=bf16", "--out",
                dir.resolve("none").toString()), "--set state_dtype", "no chosen optimizer has it");
        Cli.rejected(Cli.run("train", "--optimizer", "asgd", "--set", "state_dtype=int8", "--out",
                dir.resolve("int8").toString()), "--set", "invalid state_dtype: 'int8' (must be one of fp32, bf16)");
        // int8: the optimizers without that choice are left out.
        Path int8 = dir.resolve("int8-state");
        r = Cli.run(0, "train", "--workload", "rosenbrock", "--steps", "3", "--set", "state_dtype=int8",
                "--out", int8.toString());
        assertTrue(r.err().contains("left out with --set state_dtype: rprop, asgd (not one of their choices)"),
                r.err());
        csv = Files.readAllLines(int8.resolve("loss.csv"));
        assertTrue(csv.stream().anyMatch(l -> l.startsWith("rosenbrock,lion,")), csv.toString());
        assertTrue(csv.stream().noneMatch(l -> l.startsWith("rosenbrock,asgd,")), csv.toString());
    }

    @Test
    void anUnknownPrecisionNamesTheAllowedOnes() {
        Cli.Result r = Cli.run(2, "train", "--precision", "FP16");
        assertEquals("train: --precision FP16: unknown (known: fp32, bf16, fp16)", r.err().strip());
    }

    /**
     * Digits trained with 16-bit parameters and gradients (fp32 master weights and state)
     * reaches the accuracy of fp32 within half a point, for the same seed, steps and optimizers;
     * fp16 steps through a GradScaler and reports what it did, bf16 has none.
     */
    @Test
    void sixteenBitDigitsTrainsAsWellAsFp32() {
        for (String optimizer : new String[] {"adam", "sgd"}) {
            com.google.gson.JsonObject fp32 = digits(optimizer, "fp32");
            assertEquals("fp32", fp32.get("precision").getAsString());
            assertTrue(fp32.get("loss_scale").isJsonNull() && fp32.get("skipped_steps").isJsonNull(), fp32.toString());
            double expected = fp32.get("accuracy").getAsDouble();
            assertTrue(expected > 0.95, fp32.toString());
            for (String precision : new String[] {"bf16", "fp16"}) {
                com.google.gson.JsonObject o = digits(optimizer, precision);
                assertEquals(precision, o.get("precision").getAsString());
                assertEquals(expected, o.get("accuracy").getAsDouble(), 0.005, optimizer + " " + precision + ": " + o);
                assertEquals(precision.equals("fp16"), !o.get("loss_scale").isJsonNull(), o.toString());
                if (precision.equals("fp16")) {
                    // Digits' gradients stay well inside fp16's range at the default scale of 2^16.
                    assertEquals(0, o.get("skipped_steps").getAsInt(), o.toString());
                    assertEquals(65536, o.get("loss_scale").getAsDouble(), o.toString());
                }
            }
        }
    }

    private com.google.gson.JsonObject digits(String optimizer, String precision) {
        String[] r = run(0, "train", "--workload", "digits", "--optimizer", optimizer, "--precision", precision,
                "--format", "json", "--out", dir.resolve(optimizer + "-" + precision).toString());
        return com.google.gson.JsonParser.parseString(r[0].strip()).getAsJsonObject();
    }

    /**
     * On rosenbrock fp16 overflows at first: its gradients of a few hundred times 2^16 exceed
     * 65504, so the scaler skips steps and backs off until they fit; the loss falls after.
     */
    @Test
    void fp16RosenbrockBacksOffTheScaleAndTheTableSaysSo() {
        String[] r = run(0, "train", "--workload", "rosenbrock", "--optimizer", "adam", "--steps", "15",
                "--precision", "fp16", "--out", dir.resolve("fp16").toString());
        assertTrue(r[0].contains("precision: fp16 parameters and gradients, fp32 master weights and state"), r[0]);
        String row = r[0].lines().filter(l -> l.startsWith("rosenbrock ")).findFirst().orElseThrow();
        String[] cells = row.trim().split(" +");
        // workload, optimizer, first loss, final loss, accuracy, ms/step, share, skipped, scale
        assertEquals(9, cells.length, row);
        assertTrue(Double.parseDouble(cells[3]) < Double.parseDouble(cells[2]), row);
        assertTrue(Integer.parseInt(cells[7]) > 0, row);
        assertEquals(65536 / Math.pow(2, Integer.parseInt(cells[7])), Double.parseDouble(cells[8]), row);
        String[] bf16 = run(0, "train", "--workload", "rosenbrock", "--optimizer", "adam", "--steps", "5",
                "--precision", "bf16", "--out", dir.resolve("bf16").toString());
        assertTrue(bf16[0].contains("precision: bf16 parameters") && !bf16[0].contains("skipped"), bf16[0]);
    }

    @Test
    void theSummaryAsMarkdownOrJson() throws IOException {
        String[] md = run(0, "train", "--workload", "digits", "--optimizer", "adam", "--steps", "3", "--format",
                "markdown", "--out", dir.resolve("md").toString());
        assertTrue(md[0].contains("| workload | optimizer | first loss | final loss | accuracy |"), md[0]);
        assertTrue(md[0].lines().anyMatch(l -> l.startsWith("| digits | adam | ")), md[0]);
        String[] json = run(0, "train", "--workload", "rosenbrock", "--optimizer", "sgd", "--steps", "3", "--format",
                "json", "--out", dir.resolve("json").toString());
        com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(json[0].strip()).getAsJsonObject();
        assertEquals("rosenbrock", o.get("workload").getAsString());
        assertTrue(o.get("accuracy").isJsonNull());
        assertTrue(o.get("final_loss").getAsDouble() < o.get("first_loss").getAsDouble(), json[0]);
        assertTrue(json[1].contains("wrote "), json[1]);
        run(2, "train", "--format", "html");
    }

    @Test
    void aFolderThatHoldsFilesIsRefusedWithoutOverwrite() throws IOException {
        Path out = Files.createDirectories(dir.resolve("used"));
        Files.writeString(out.resolve("loss.csv"), "another run");
        Cli.Result r = Cli.run(2, "train", "--workload", "digits", "--optimizer", "sgd", "--steps", "2",
                "--out", out.toString());
        assertTrue(r.err().contains("holds files already") && r.err().contains("--overwrite"), r.err());
        assertEquals("another run", Files.readString(out.resolve("loss.csv")));
        Cli.run(0, "train", "--workload", "digits", "--optimizer", "sgd", "--steps", "2", "--out", out.toString(),
                "--overwrite");
        assertTrue(Files.readString(out.resolve("loss.csv")).startsWith("workload,optimizer,step,loss"));
        // A folder that cannot be made says why.
        r = Cli.run(2, "train", "--out", "/proc/nope");
        assertTrue(r.err().contains("/proc does not take new folders"), r.err());
    }

    @Test
    void anOutputThatCannotBeWrittenLosesNeitherTheTableNorTheLosses() throws IOException {
        Path out = Files.createDirectories(dir.resolve("run"));
        Files.createDirectory(out.resolve("loss.png")); // the plot cannot be written there
        Cli.Result r = Cli.run(1, "train", "--workload", "digits", "--optimizer", "adam", "--steps", "10",
                "--out", out.toString(), "--overwrite");
        assertTrue(r.out().contains("final loss") && r.out().contains("adam"), r.out());
        assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("train ")).count(), r.err());
        assertTrue(r.err().contains(out.resolve("loss.png") + ": not a regular file"), r.err());
        assertEquals("workload,optimizer,step,loss", Files.readAllLines(out.resolve("loss.csv")).get(0));
        assertEquals("workload,optimizer,step,loss,accuracy", Files.readAllLines(out.resolve("heldout.csv")).get(0));
        // The figure's two files are written together or not at all.
        assertTrue(Files.notExists(out.resolve("loss.svg")));
    }
}

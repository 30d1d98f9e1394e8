package org.clopt.train;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.clopt.train.LossReport.Point;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CSV's exact text and a PNG that decodes with one panel per workload. To look at the plot,
 * run with {@code -Dclopt.lossReportSample=/some/file.png}: the test copies its PNG there.
 */
class LossReportTest {
    private static final List<String> WORKLOADS = List.of("rosenbrock", "digits");
    private static final List<String> OPTIMIZERS = List.of("sgd", "rmsprop", "adam");

    @TempDir
    Path dir;

    @Test
    void writesCsvExactly() throws IOException {
        List<Point> points = List.of(
                new Point("rosenbrock", "sgd", 0, 1.0),
                new Point("rosenbrock", "sgd", 100, 0.1),
                new Point("rosenbrock", "rmsprop", 0, 1.0),
                new Point("rosenbrock", "rmsprop", 100, 1.0 / 3),
                new Point("rosenbrock", "adam", 0, 1.0),
                new Point("rosenbrock", "adam", 100, Double.NaN),
                new Point("digits", "sgd", 0, 2.302585092994046),
                new Point("digits", "sgd", 100, 1e-7),
                new Point("digits", "rmsprop", 0, 2.302585092994046),
                new Point("digits", "rmsprop", 100, 0.0),
                new Point("digits", "adam", 0, 2.302585092994046),
                new Point("digits", "adam", 12345678901L, 123456.789));
        Path csv = dir.resolve("loss.csv");
        LossReport.writeCsv(csv, points);
        assertEquals("""
                workload,optimizer,step,loss
                rosenbrock,sgd,0,1.0
                rosenbrock,sgd,100,0.1
                rosenbrock,rmsprop,0,1.0
                rosenbrock,rmsprop,100,0.3333333333333333
                rosenbrock,adam,0,1.0
                rosenbrock,adam,100,NaN
                digits,sgd,0,2.302585092994046
                digits,sgd,100,1.0E-7
                digits,rmsprop,0,2.302585092994046
                digits,rmsprop,100,0.0
                digits,adam,0,2.302585092994046
                digits,adam,12345678901,123456.789
                """, Files.readString(csv, UTF_8));
        assertNoTemporaryFiles();
    }

    @Test
    void rejectsNamesThatWouldNeedQuoting() {
        Path csv = dir.resolve("loss.csv");
        assertThrows(IllegalArgumentException.class,
                () -> LossReport.writeCsv(csv, List.of(new Point("a,b", "sgd", 0, 1))));
        assertTrue(Files.notExists(csv));
    }

    @Test
    void plotsOnePanelPerWorkloadDroppingUnplottableLosses() throws IOException {
        List<Point> points = curves();
        // A zero and a NaN: a logarithmic axis can show neither, so both must be left out.
        points.set(points.indexOf(find(points, "digits", "adam", 300)), new Point("digits", "adam", 300, 0.0));
        points.set(points.indexOf(find(points, "rosenbrock", "sgd", 200)),
                new Point("rosenbrock", "sgd", 200, Double.NaN));
        Path png = dir.resolve("loss.png");
        LossReport.writePlot(png, points);

        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "not a decodable image");
        assertEquals(2 * LossReport.PANEL_WIDTH, image.getWidth(), 2);
        assertEquals(LossReport.PANEL_HEIGHT, image.getHeight(), 2);
        // Each optimizer keeps its color: every line's color appears in both panels.
        for (int rgb : new int[] {0x1f77b4, 0x9467bd, 0xe377c2}) { // sgd, rmsprop, adam
            for (int panel = 0; panel < 2; panel++) {
                assertTrue(containsColor(image, panel * LossReport.PANEL_WIDTH, LossReport.PANEL_WIDTH, rgb),
                        String.format("color %06x missing from panel %d", rgb, panel));
            }
        }
        assertNoTemporaryFiles();

        String sample = System.getProperty("clopt.lossReportSample");
        if (sample != null) {
            Files.copy(png, Path.of(sample), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Test
    void plotsAWorkloadWithNothingPlottable() throws IOException {
        List<Point> points = List.of(
                new Point("empty", "sgd", 0, 0.0),
                new Point("empty", "sgd", 1, Double.NaN),
                new Point("ok", "sgd", 0, 1.0),
                new Point("ok", "sgd", 1, 0.5));
        Path png = dir.resolve("loss.png");
        LossReport.writePlot(png, points);
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "not a decodable image");
        assertEquals(2 * LossReport.PANEL_WIDTH, image.getWidth(), 2);
    }

    @Test
    void abbreviatesLargeSteps() {
        assertEquals("0", LossReport.stepLabel(0));
        assertEquals("9990", LossReport.stepLabel(9990));
        assertEquals("20k", LossReport.stepLabel(20_000));
        assertEquals("12.5k", LossReport.stepLabel(12_500));
        assertEquals("1M", LossReport.stepLabel(1_000_000));
        assertEquals("2.5G", LossReport.stepLabel(2.5e9));
    }

    @Test
    void refusesAnEmptyPlot() {
        assertThrows(IllegalArgumentException.class, () -> LossReport.writePlot(dir.resolve("loss.png"), List.of()));
    }

    /** Smooth, decreasing synthetic losses spanning a few decades, every 10 steps to 500. */
    private static List<Point> curves() {
        List<Point> points = new ArrayList<>();
        for (String workload : WORKLOADS) {
            for (int o = 0; o < OPTIMIZERS.size(); o++) {
                double rate = (o + 1) / 120.0;
                for (long step = 0; step <= 500; step += 10) {
                    double loss = workload.equals("digits")
                            ? 2.3 * Math.exp(-rate * step) + 0.02 / (o + 1)
                            : 50 * Math.exp(-rate * 1.5 * step) * (1 + 0.3 * Math.sin(step / 15.0)) + 1e-4;
                    points.add(new Point(workload, OPTIMIZERS.get(o), step, loss));
                }
            }
        }
        return points;
    }

    private static Point find(List<Point> points, String workload, String optimizer, long step) {
        return points.stream()
                .filter(p -> p.workload().equals(workload) && p.optimizer().equals(optimizer) && p.step() == step)
                .findFirst().orElseThrow();
    }

    private static boolean containsColor(BufferedImage image, int x0, int width, int rgb) {
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = x0; x < x0 + width; x++) {
                if ((image.getRGB(x, y) & 0xffffff) == rgb) {
                    return true;
                }
            }
        }
        return false;
    }

    private void assertNoTemporaryFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList());
        }
    }
}

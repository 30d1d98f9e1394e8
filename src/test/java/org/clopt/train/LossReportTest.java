package org.clopt.train;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.clopt.Algorithms;
import org.clopt.train.LossReport.Point;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;

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

    /**
     * The figure: panels in rows with blank cells, a caption under them, as a PNG and an SVG of
     * the same size; the SVG is well-formed XML and carries the caption as text.
     */
    @Test
    void writesTheFigureAsPngAndSvgWithItsCaption() throws Exception {
        List<Point> points = curves();
        List<Point> digits = points.stream().filter(p -> p.workload().equals("digits")).toList();
        List<Point> rosenbrock = points.stream().filter(p -> p.workload().equals("rosenbrock")).toList();
        List<LossReport.Panel> top = List.of(
                new LossReport.Panel("digits", "loss", digits, true, false, true, Map.of()),
                new LossReport.Panel("digits: held-out", "loss", digits, true, false, false,
                        Map.of("adam", "98.1%", "sgd", "96.4%")),
                new LossReport.Panel("rosenbrock", "loss", rosenbrock, true, true, false, Map.of()));
        List<LossReport.Panel> bottom = new ArrayList<>();
        bottom.add(LossReport.Panel.rates("digits: learning rate", digits));
        bottom.add(null);
        String caption = "made on a test device; seed 7; digits: 500 steps, mini-batches of 128; lr sgd 0.2";
        Path png = dir.resolve("loss.png");
        Path svg = dir.resolve("loss.svg");
        LossReport.writeFigure(png, svg, List.of(top, bottom), List.of(caption));

        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(3 * LossReport.PANEL_WIDTH, image.getWidth());
        assertTrue(image.getHeight() > 2 * LossReport.PANEL_HEIGHT, "no room for the caption");
        // The blank cell stays white.
        for (int y = LossReport.PANEL_HEIGHT; y < 2 * LossReport.PANEL_HEIGHT; y += 7) {
            for (int x = LossReport.PANEL_WIDTH; x < 3 * LossReport.PANEL_WIDTH; x += 7) {
                assertEquals(0xffffff, image.getRGB(x, y) & 0xffffff, x + "," + y);
            }
        }
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        Element root = factory.newDocumentBuilder().parse(svg.toFile()).getDocumentElement();
        assertEquals("svg", root.getTagName());
        assertEquals("0 0 " + image.getWidth() + " " + image.getHeight(), root.getAttribute("viewBox"));
        assertTrue(Files.readString(svg, UTF_8).contains(">" + caption + "<"), "caption missing from the SVG");
        assertNoTemporaryFiles();
    }

    /** The PNG and the SVG are replaced together: one that cannot be written leaves the other unwritten. */
    @Test
    void writesNeitherFileWhenOneCannotBeWritten() throws IOException {
        Path png = dir.resolve("loss.png");
        Path svg = Files.createDirectory(dir.resolve("loss.svg")); // a directory is refused
        List<List<LossReport.Panel>> rows = List.of(List.of(LossReport.Panel.loss("w", "loss", curves())));
        assertThrows(IOException.class, () -> LossReport.writeFigure(png, svg, rows, List.of()));
        assertTrue(Files.notExists(png));
        assertNoTemporaryFiles();
    }

    /**
     * Every optimizer of the registry has its own color, and each family its own line style:
     * two optimizers never share both, and the SGD family's close greens are told apart.
     */
    @Test
    void everyOptimizerHasItsOwnColorAndItsFamilysLineStyle() {
        List<Point> points = new ArrayList<>();
        for (String name : Algorithms.NAMES) {
            points.add(new Point("w", name, 1, 1));
        }
        Map<String, java.awt.Color> colors = LossReport.colors(List.of(List.of(LossReport.Panel.loss("w", "y", points))));
        assertEquals(Algorithms.NAMES.size(), new HashSet<>(colors.values()).size(), colors.toString());
        Set<String> dashes = new HashSet<>();
        for (String family : new String[] {"sgd", "adagrad", "adam", "lion"}) {
            dashes.add(Arrays.toString(LossReport.stroke(family).getDashArray()));
        }
        assertEquals(4, dashes.size(), dashes.toString());
        for (String[] same : new String[][] {{"sgd", "momentum", "nesterov", "asgd"}, {"adagrad", "rmsprop", "adadelta"},
            {"adam", "adamw", "nadam", "adamax", "radam", "lamb"}, {"rprop", "lion"}}) {
            for (String name : same) {
                assertArrayEquals(LossReport.stroke(same[0]).getDashArray(), LossReport.stroke(name).getDashArray(), name);
            }
        }
    }

    @Test
    void smoothsByAGeometricMeanOverFivePoints() {
        double[] steps = {0, 10, 20, 30, 40, 50};
        LossReport.Line noisy = new LossReport.Line("sgd", steps, new double[] {1, 100, 1, 100, 1, 100});
        LossReport.Line smooth = LossReport.smoothed(noisy, true);
        // Middle points: five of the alternating values, geometric mean 10^(4/5) or 10^(6/5).
        assertEquals(Math.pow(10, 4.0 / 5), smooth.values()[2], 1e-9);
        assertEquals(Math.pow(10, 6.0 / 5), smooth.values()[3], 1e-9);
        // At the ends the window is cut: the last point averages the last three.
        assertEquals(Math.pow(10, 4.0 / 3), smooth.values()[5], 1e-9);
        assertEquals((1 + 100 + 1 + 100 + 1) / 5.0, LossReport.smoothed(noisy, false).values()[2], 1e-12);
        assertTrue(LossReport.coincide(noisy, new LossReport.Line("asgd", steps, new double[] {1, 100.4, 1, 100, 1, 100})));
        assertFalse(LossReport.coincide(noisy, new LossReport.Line("asgd", steps, new double[] {1, 101, 1, 100, 1, 100})));
    }

    @Test
    void wrapsTheCaptionToTheFigureWidth() {
        String words = "lr sgd 0.2, momentum 0.05, nesterov 0.05, adagrad 0.05, rmsprop 0.001, adadelta 1.0, "
                + "adam 0.002, adamw 0.002, nadam 0.002, adamax 0.002, rprop default, radam 0.01";
        List<String> lines = LossReport.wrap(List.of(words, "short"), 300);
        assertTrue(lines.size() > 3, lines.toString());
        assertEquals("short", lines.get(lines.size() - 1));
        assertEquals(words, String.join(" ", lines.subList(0, lines.size() - 1)).replaceAll(" +", " "));
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

package org.clopt.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import javax.imageio.ImageIO;
import org.clopt.Algorithms;
import org.clopt.io.AtomicFile;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Loss curves of a training run: a CSV of every recorded point and a PNG with one panel per
 * workload. Both files are replaced atomically ({@link AtomicFile}).
 */
public final class LossReport {
    /** Width of one panel of the plot, in pixels. */
    static final int PANEL_WIDTH = 700;
    /** Height of the plot (every panel), in pixels. */
    static final int PANEL_HEIGHT = 500;

    /**
     * One recorded loss.
     *
     * @param workload the workload's name, a plain identifier (no comma, quote or line break)
     * @param optimizer the optimizer's name, a plain identifier
     * @param step the optimizer step after which the loss was measured
     * @param loss the loss; any value, including zero, negative and non-finite ones
     */
    public record Point(String workload, String optimizer, long step, double loss) {
        public Point {
            Objects.requireNonNull(workload, "workload");
            Objects.requireNonNull(optimizer, "optimizer");
        }
    }

    /**
     * The line colors (RGB), by the optimizer's place in the registry ({@link Algorithms#NAMES}):
     * matplotlib's "tab10" palette, then "tab20"'s lighter shades, so a given optimizer has the
     * same color in every panel and in every report. Kept as integers so loading this class
     * touches no AWT.
     */
    private static final int[] KNOWN_COLORS = {
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22,
        0x17becf, 0xaec7e8, 0xffbb78, 0x98df8a, 0xff9896, 0xc5b0d5, 0xc49c94, 0xf7b6d2, 0xc7c7c7,
        0xdbdb8d, 0x9edae5,
    };
    /** Colors for names not in the registry, in order of first appearance, cycling. */
    private static final int[] OTHER_COLORS = {0x000000, 0x393b79, 0x637939, 0x843c39};

    private LossReport() {
    }

    /**
     * Writes {@code workload,optimizer,step,loss} and then one row per point, in the given order.
     * Losses are written with {@link Double#toString(double)} (full precision; non-finite values
     * as {@code NaN}, {@code Infinity}, {@code -Infinity}). Fields are never quoted.
     *
     * @throws IllegalArgumentException if a name contains a comma, a double quote or a line break
     */
    public static void writeCsv(Path file, List<Point> points) throws IOException {
        writeCsv(file, points, "loss");
    }

    /**
     * As {@link #writeCsv(Path, List)}, with {@code value} as the last column's name ({@code lr}
     * for learning rates).
     *
     * @throws IllegalArgumentException if a name contains a comma, a double quote or a line break
     */
    public static void writeCsv(Path file, List<Point> points, String value) throws IOException {
        StringBuilder csv = new StringBuilder("workload,optimizer,step," + value + "\n");
        for (Point p : points) {
            csv.append(plain(p.workload())).append(',')
                    .append(plain(p.optimizer())).append(',')
                    .append(p.step()).append(',')
                    .append(Double.toString(p.loss())).append('\n');
        }
        writeBytes(file, csv.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Draws the loss curves as one PNG: one panel per workload, side by side in order of first
     * appearance, each {@value #PANEL_WIDTH} x {@value #PANEL_HEIGHT} pixels with one line per
     * optimizer (step on x, loss on a logarithmic y axis). An optimizer keeps its color in every
     * panel. Points within a line are drawn in step order.
     *
     * <p>A logarithmic axis cannot show zero, negative or non-finite losses, so such points are
     * left out of the plot (the CSV keeps them); an optimizer with no point left has no line and
     * no legend entry in that panel.
     *
     * @throws IllegalArgumentException if {@code points} is empty
     */
    public static void writePlot(Path file, List<Point> points) throws IOException {
        writePlot(file, points, List.of());
    }

    /**
     * As {@link #writePlot(Path, List)}, with a second row of panels, when {@code rates} is not
     * empty: the learning rate of each optimizer at each logged step (a schedule), on a linear
     * axis (a schedule may reach 0). A rate point's {@code loss} is the learning rate.
     *
     * @param file the PNG to write
     * @param points the losses
     * @param rates the learning rates, or none
     * @throws IOException if the file cannot be written
     * @throws IllegalArgumentException if {@code points} is empty
     */
    public static void writePlot(Path file, List<Point> points, List<Point> rates) throws IOException {
        if (points.isEmpty()) {
            throw new IllegalArgumentException("no loss points to plot");
        }
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        Map<String, Color> colors = colors(points);
        // workload -> optimizer -> plottable points, all in order of first appearance.
        Map<String, Map<String, List<Point>>> panels = new LinkedHashMap<>();
        for (Point p : points) {
            Map<String, List<Point>> series = panels.computeIfAbsent(p.workload(), w -> new LinkedHashMap<>());
            List<Point> line = series.computeIfAbsent(p.optimizer(), o -> new ArrayList<>());
            if (Double.isFinite(p.loss()) && p.loss() > 0) {
                line.add(p);
            }
        }

        Map<String, Map<String, List<Point>>> ratePanels = new LinkedHashMap<>();
        for (Point p : rates) {
            ratePanels.computeIfAbsent(p.workload(), w -> new LinkedHashMap<>())
                    .computeIfAbsent(p.optimizer(), o -> new ArrayList<>()).add(p);
        }
        BufferedImage image = new BufferedImage(PANEL_WIDTH * panels.size(),
                PANEL_HEIGHT * (ratePanels.isEmpty() ? 1 : 2), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            int x = 0;
            for (Map.Entry<String, Map<String, List<Point>>> panel : panels.entrySet()) {
                XYChart chart = chart(panel.getKey(), panel.getValue(), colors, "loss (log scale)", true);
                g.drawImage(BitmapEncoder.getBufferedImage(chart), x, 0, null);
                Map<String, List<Point>> lr = ratePanels.get(panel.getKey());
                if (lr != null) {
                    XYChart rate = chart(panel.getKey() + ": learning rate", lr, colors, "learning rate", false);
                    g.drawImage(BitmapEncoder.getBufferedImage(rate), x, PANEL_HEIGHT, null);
                }
                x += PANEL_WIDTH;
            }
        } finally {
            g.dispose();
        }

        ByteArrayOutputStream png = new ByteArrayOutputStream();
        if (!ImageIO.write(image, "png", png)) {
            throw new IOException("no PNG writer available");
        }
        writeBytes(file, png.toByteArray());
    }

    private static XYChart chart(String workload, Map<String, List<Point>> lines, Map<String, Color> colors,
                                 String yTitle, boolean logarithmic) {
        XYChart chart = new XYChartBuilder()
                .width(PANEL_WIDTH).height(PANEL_HEIGHT)
                .title(workload).xAxisTitle("step").yAxisTitle(yTitle)
                .build();
        XYStyler styler = chart.getStyler();
        styler.setLocale(Locale.ROOT);
        styler.setYAxisLogarithmic(logarithmic);
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotBackgroundColor(Color.WHITE);
        styler.setPlotBorderColor(Color.GRAY);
        styler.setPlotGridLinesColor(new Color(0xdddddd));
        // Outside, so the legend never hides a curve whatever shape the curves take.
        styler.setLegendPosition(Styler.LegendPosition.OutsideE);
        styler.setLegendBorderColor(Color.LIGHT_GRAY);
        styler.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        styler.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        styler.setChartTitleBoxVisible(false);
        styler.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        styler.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        styler.setMarkerSize(8); // only for lines of a single point, which would be invisible
        styler.setAntiAlias(true);
        styler.setxAxisTickLabelsFormattingFunction(LossReport::stepLabel);

        double minStep = Double.POSITIVE_INFINITY;
        double maxStep = Double.NEGATIVE_INFINITY;
        double minLoss = Double.POSITIVE_INFINITY;
        double maxLoss = Double.NEGATIVE_INFINITY;
        for (List<Point> line : lines.values()) {
            for (Point p : line) {
                minStep = Math.min(minStep, p.step());
                maxStep = Math.max(maxStep, p.step());
                minLoss = Math.min(minLoss, p.loss());
                maxLoss = Math.max(maxLoss, p.loss());
            }
        }
        if (minStep > maxStep) {
            chart.setTitle(workload + " (no positive finite loss)");
        } else {
            if (minStep < maxStep) {
                // XChart puts the x ticks on every n-th data point when the steps are equally
                // spaced (0, 30, 60, ... or 0, 2200, 4400, ...). An axis start just off that grid
                // makes it choose round tick values instead; the shift is invisible.
                styler.setXAxisMin(minStep - Math.max(0.01, Math.ulp(minStep) * 4));
            }
            // Labels only at powers of ten would leave a curve within one decade with one label
            // or none: label 2, 3, ... 9 times a power of ten too then.
            if (logarithmic) {
                styler.setYAxisLogarithmicDecadeOnly(
                        Math.floor(Math.log10(maxLoss)) - Math.ceil(Math.log10(minLoss)) >= 1);
            }
        }

        BasicStroke stroke = new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
        for (Map.Entry<String, List<Point>> line : lines.entrySet()) {
            List<Point> data = new ArrayList<>(line.getValue());
            if (data.isEmpty()) {
                continue;
            }
            data.sort(Comparator.comparingLong(Point::step));
            double[] steps = new double[data.size()];
            double[] losses = new double[data.size()];
            for (int i = 0; i < data.size(); i++) {
                steps[i] = data.get(i).step();
                losses[i] = data.get(i).loss();
            }
            XYSeries series = chart.addSeries(line.getKey(), steps, losses);
            series.setMarker(data.size() == 1 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
            series.setLineColor(colors.get(line.getKey()));
            series.setMarkerColor(colors.get(line.getKey()));
            series.setLineStyle(stroke);
        }
        return chart;
    }

    /** An x tick label: an integer below 10,000, else abbreviated (25k, 1.5M, 2G). */
    static String stepLabel(double step) {
        double magnitude = Math.abs(step);
        if (magnitude < 1e4) {
            return plainNumber(step);
        } else if (magnitude < 1e6) {
            return plainNumber(step / 1e3) + "k";
        } else if (magnitude < 1e9) {
            return plainNumber(step / 1e6) + "M";
        }
        return plainNumber(step / 1e9) + "G";
    }

    /** At most four significant digits, no exponent, no trailing zeros. */
    private static String plainNumber(double value) {
        if (!Double.isFinite(value)) {
            return Double.toString(value);
        }
        return new BigDecimal(value).round(new MathContext(4)).stripTrailingZeros().toPlainString();
    }

    /** Each optimizer's color: fixed for the known names, then by first appearance. */
    private static Map<String, Color> colors(List<Point> points) {
        Map<String, Color> colors = new LinkedHashMap<>();
        int others = 0;
        for (Point p : points) {
            String name = p.optimizer();
            if (!colors.containsKey(name)) {
                int known = Algorithms.NAMES.indexOf(name);
                int rgb = known >= 0 && known < KNOWN_COLORS.length ? KNOWN_COLORS[known]
                        : OTHER_COLORS[others++ % OTHER_COLORS.length];
                colors.put(name, new Color(rgb));
            }
        }
        return colors;
    }

    private static String plain(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == ',' || c == '"' || c == '\n' || c == '\r') {
                throw new IllegalArgumentException("name not usable unquoted in CSV: " + name);
            }
        }
        return name;
    }

    private static void writeBytes(Path file, byte[] bytes) throws IOException {
        AtomicFile.write(file, channel -> {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        });
    }
}

package org.clopt.train;

import de.erichseifert.vectorgraphics2d.VectorGraphics2D;
import de.erichseifert.vectorgraphics2d.svg.SVGProcessor;
import de.erichseifert.vectorgraphics2d.util.PageSize;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
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
    public static final int PANEL_WIDTH = 700;
    /** Height of the plot (every panel), in pixels. */
    public static final int PANEL_HEIGHT = 500;

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
     * matplotlib's "tab10" palette, then five dark shades of "tab20b" and "tab20c" and black
     * (tab20's light shades were too faint for the dotted lines and beside the faint raw lines),
     * then tab20's light shades, so a given optimizer has the same color in every panel and in
     * every report. Kept as integers so loading this class touches no AWT.
     */
    private static final int[] KNOWN_COLORS = {
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22,
        0x17becf, 0x393b79, 0x8c6d31, 0x000000, 0xad494a, 0x7b4173, 0xaec7e8, 0xffbb78, 0x98df8a,
        0xff9896, 0xc5b0d5,
    };
    /** Colors for names not in the registry, in order of first appearance, cycling. */
    private static final int[] OTHER_COLORS = {0x637939, 0x843c39, 0x5254a3, 0xe7969c};

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
        writeCsv(file, points, value, null, null);
    }

    /**
     * As {@link #writeCsv(Path, List, String)}, with a second value column named {@code other}:
     * {@code others.get(i)}'s value beside {@code points.get(i)}'s (a held-out accuracy beside its
     * loss).
     *
     * @param file the CSV to write
     * @param points the rows' keys and first values
     * @param value the first value column's name
     * @param others the second values, one per point, of the same workload, optimizer and step
     * @param other the second value column's name
     * @throws IOException if the file cannot be written
     * @throws IllegalArgumentException if a name contains a comma, a double quote or a line break,
     *     or a second value does not match its point's workload, optimizer and step
     */
    public static void writeCsv(Path file, List<Point> points, String value, List<Point> others, String other)
            throws IOException {
        if (others != null && others.size() != points.size()) {
            throw new IllegalArgumentException(others.size() + " second values for " + points.size() + " points");
        }
        StringBuilder csv = new StringBuilder("workload,optimizer,step," + value + (others == null ? "" : "," + other)
                + "\n");
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            csv.append(plain(p.workload())).append(',')
                    .append(plain(p.optimizer())).append(',')
                    .append(p.step()).append(',')
                    .append(Double.toString(p.loss()));
            if (others != null) {
                Point o = others.get(i);
                if (!o.workload().equals(p.workload()) || !o.optimizer().equals(p.optimizer()) || o.step() != p.step()) {
                    throw new IllegalArgumentException("second value " + o + " is not of the row of " + p);
                }
                csv.append(',').append(Double.toString(o.loss()));
            }
            csv.append('\n');
        }
        writeBytes(file, csv.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Draws the loss curves as one PNG: one panel per workload, side by side in order of first
     * appearance, each {@value #PANEL_WIDTH} x {@value #PANEL_HEIGHT} pixels with one line per
     * optimizer (step on x, loss on a logarithmic y axis), drawn as {@link #writeFigure} draws a
     * panel.
     *
     * <p>A logarithmic axis cannot show zero, negative or non-finite losses, so such points are
     * left out of the plot (the CSV keeps them); an optimizer with no point left has no line and
     * no legend entry in that panel.
     *
     * @param file the PNG to write
     * @param points the losses
     * @throws IOException if the file cannot be written
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
        Map<String, List<Point>> losses = byWorkload(points);
        Map<String, List<Point>> lr = byWorkload(rates);
        List<Panel> top = new ArrayList<>();
        List<Panel> bottom = new ArrayList<>();
        for (Map.Entry<String, List<Point>> w : losses.entrySet()) {
            top.add(Panel.loss(w.getKey(), "loss (log scale)", w.getValue()));
            List<Point> r = lr.get(w.getKey());
            bottom.add(r == null ? null : Panel.rates(w.getKey() + ": learning rate", r));
        }
        List<List<Panel>> rows = lr.isEmpty() ? List.of(top) : List.of(top, bottom);
        writeFigure(file, null, rows, List.of());
    }

    /**
     * One panel of a figure: one line per optimizer, in the color and line style it has in every
     * panel ({@link #writeFigure}).
     *
     * @param title the panel's title
     * @param yTitle the y axis's title
     * @param points the values; a point's {@code loss} is the value plotted
     * @param logY a logarithmic y axis (zero, negative and non-finite values are left out)
     * @param logSteps a logarithmic step axis (step 0 is left out): for a curve whose fall happens
     *     in its first few steps and whose ranking shows only later
     * @param smooth draw each line smoothed, its raw values faint beneath: for noisy values such
     *     as mini-batch losses
     * @param notes text to show after an optimizer's final value in the legend (an accuracy), by
     *     optimizer; none for most panels
     */
    public record Panel(String title, String yTitle, List<Point> points, boolean logY, boolean logSteps,
                        boolean smooth, Map<String, String> notes) {
        public Panel {
            Objects.requireNonNull(title, "title");
            Objects.requireNonNull(yTitle, "yTitle");
            points = List.copyOf(points);
            notes = Map.copyOf(notes);
        }

        /**
         * A loss panel: logarithmic y axis, linear steps, no smoothing, no notes.
         *
         * @param title the panel's title
         * @param yTitle the y axis's title
         * @param points the losses
         * @return the panel
         */
        public static Panel loss(String title, String yTitle, List<Point> points) {
            return new Panel(title, yTitle, points, true, false, false, Map.of());
        }

        /**
         * A learning-rate panel: linear axes (a schedule may reach 0).
         *
         * @param title the panel's title
         * @param points the learning rates
         * @return the panel
         */
        public static Panel rates(String title, List<Point> points) {
            return new Panel(title, "learning rate", points, false, false, false, Map.of());
        }
    }

    /**
     * Draws a figure of panels in rows (a null panel leaves its cell blank), each panel
     * {@value #PANEL_WIDTH} x {@value #PANEL_HEIGHT} pixels, with the caption's lines under them,
     * as a PNG and, when {@code svg} is not null, the same drawing as an SVG. Both are drawn in
     * memory and written to temporary files before either replaces its target ({@link
     * AtomicFile#prepare}), so a failure writes neither.
     *
     * <p>In every panel an optimizer keeps its color (by its place in {@link Algorithms#NAMES})
     * and the line style of its family: solid for the SGD family (sgd, momentum, nesterov, asgd),
     * dash-dot for the adaptive ones (adagrad, rmsprop, adadelta), dashed for the Adam family
     * (adam, adamw, nadam, adamax, radam, lamb) and dotted for the sign-based ones (rprop, lion).
     * A dot marks each line's final value; the legend lists the optimizers from the lowest final
     * value to the highest, with that value (the smoothed one in a smoothed panel) and the
     * panel's note for the optimizer. A logarithmic axis labels the powers of ten and, where they
     * leave room, 2 and 5 times each, then 3 and 4 times, then the rest, so that values between
     * two powers of ten can be read off it.
     *
     * @param png the PNG to write
     * @param svg the SVG to write, or null for none
     * @param rows the panels, row by row; null for a blank cell
     * @param caption the lines under the panels (how the figure was made), or none
     * @throws IOException if a file cannot be written
     * @throws IllegalArgumentException if there is no panel
     */
    public static void writeFigure(Path png, Path svg, List<List<Panel>> rows, List<String> caption)
            throws IOException {
        int columns = 0;
        for (List<Panel> row : rows) {
            columns = Math.max(columns, row.size());
        }
        if (columns == 0 || rows.stream().flatMap(List::stream).allMatch(Objects::isNull)) {
            throw new IllegalArgumentException("no panel to draw");
        }
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        Map<String, Color> colors = colors(rows);
        int width = PANEL_WIDTH * columns;
        List<String> lines = wrap(caption, width - 2 * CAPTION_MARGIN);
        int height = PANEL_HEIGHT * rows.size() + (lines.isEmpty() ? 0 : CAPTION_LINE * lines.size() + 12);

        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            paint(g, rows, lines, colors, width, height);
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream pngBytes = new ByteArrayOutputStream();
        if (!ImageIO.write(image, "png", pngBytes)) {
            throw new IOException("no PNG writer available");
        }
        byte[] svgBytes = null;
        if (svg != null) {
            VectorGraphics2D v = new VectorGraphics2D();
            paint(v, rows, lines, colors, width, height);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            new SVGProcessor().getDocument(v.getCommands(), new PageSize(0, 0, width, height)).writeTo(out);
            svgBytes = out.toByteArray();
        }
        // Both prepared before either is committed: a failure to write one leaves both unchanged.
        try (AtomicFile pendingPng = AtomicFile.prepare(png, body(pngBytes.toByteArray()));
             AtomicFile pendingSvg = svgBytes == null ? null : AtomicFile.prepare(svg, body(svgBytes))) {
            pendingPng.commit();
            if (pendingSvg != null) {
                pendingSvg.commit();
            }
        }
    }

    /** Height of a caption line, in pixels. */
    private static final int CAPTION_LINE = 18;
    /** Space left and right of the caption, in pixels. */
    private static final int CAPTION_MARGIN = 16;
    /** The caption's font. */
    private static final Font CAPTION_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 13);

    /** The caption's lines, each broken at spaces to fit {@code width} pixels. */
    static List<String> wrap(List<String> caption, int width) {
        BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = scratch.createGraphics();
        try {
            java.awt.FontMetrics metrics = g.getFontMetrics(CAPTION_FONT);
            List<String> lines = new ArrayList<>();
            for (String text : caption) {
                StringBuilder line = new StringBuilder();
                for (String word : text.split(" ")) {
                    if (line.length() > 0 && metrics.stringWidth(line + " " + word) > width) {
                        lines.add(line.toString());
                        line.setLength(0);
                        line.append("    "); // a continued line is indented
                    } else if (line.length() > 0) {
                        line.append(' ');
                    }
                    line.append(word);
                }
                lines.add(line.toString());
            }
            return lines;
        } finally {
            g.dispose();
        }
    }

    private static void paint(Graphics2D g, List<List<Panel>> rows, List<String> caption, Map<String, Color> colors,
                              int width, int height) {
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        for (int r = 0; r < rows.size(); r++) {
            List<Panel> row = rows.get(r);
            for (int c = 0; c < row.size(); c++) {
                Panel panel = row.get(c);
                if (panel == null) {
                    continue;
                }
                Graphics2D cell = (Graphics2D) g.create(c * PANEL_WIDTH, r * PANEL_HEIGHT, PANEL_WIDTH, PANEL_HEIGHT);
                try {
                    Drawn drawn = chart(panel, colors);
                    drawn.chart().paint(cell, PANEL_WIDTH, PANEL_HEIGHT);
                    if (panel.logY() && drawn.maxStep() >= drawn.minStep()) {
                        labelBetweenDecades(cell, drawn);
                    }
                } finally {
                    cell.dispose();
                }
            }
        }
        g.setColor(Color.DARK_GRAY);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setFont(CAPTION_FONT);
        int y = PANEL_HEIGHT * rows.size() + CAPTION_LINE;
        for (String line : caption) {
            g.drawString(line, CAPTION_MARGIN, y);
            y += CAPTION_LINE;
        }
    }

    private static Map<String, List<Point>> byWorkload(List<Point> points) {
        Map<String, List<Point>> map = new LinkedHashMap<>();
        for (Point p : points) {
            map.computeIfAbsent(p.workload(), w -> new ArrayList<>()).add(p);
        }
        return map;
    }

    /** A line: its steps and values in step order, the plottable ones only. */
    record Line(String optimizer, double[] steps, double[] values) {
        double last() {
            return values[values.length - 1];
        }
    }

    /** A panel's chart and the range of what it plots. */
    private record Drawn(XYChart chart, double minStep, double maxStep, double min, double max) {
    }

    /** Values between two powers of ten that a log axis may label: the most useful first. */
    private static final double[][] BETWEEN_DECADES = {{2, 5}, {3, 4}, {1.5, 6, 7, 8, 9}};
    /** The least distance between two y labels, in pixels. */
    private static final int LABEL_GAP = 17;

    /**
     * Labels values between the powers of ten on a logarithmic y axis, which XChart labels only
     * at the powers (or at every 1 to 9 times them, where labels overlap): 2 and 5 times each
     * power first, then 3 and 4, then the rest, each where it keeps its distance from every
     * label drawn so far. Drawn after the chart, at the place of XChart's own labels.
     */
    private static void labelBetweenDecades(Graphics2D g, Drawn d) {
        XYChart chart = d.chart();
        // The plot's content fills 92% of its frame (XChart's default), centred.
        double content = chart.getStyler().getPlotContentSize();
        double x0 = chart.getScreenXFromChart(d.minStep());
        double x1 = chart.getScreenXFromChart(d.maxStep());
        double frameLeft = x0 - (x1 - x0) * (1 - content) / 2 / content;
        if (!(x1 > x0)) {
            frameLeft = x0 - 20;
        }
        List<Double> taken = new ArrayList<>();
        for (double v = Math.pow(10, Math.floor(Math.log10(d.min()))); v <= d.max() * 10; v *= 10) {
            taken.add(chart.getScreenYFromChart(Math.pow(10, Math.round(Math.log10(v)))));
        }
        g.setFont(chart.getStyler().getAxisTickLabelsFont());
        g.setColor(chart.getStyler().getAxisTickLabelsColor());
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        java.awt.FontMetrics metrics = g.getFontMetrics();
        int tick = chart.getStyler().getAxisTickMarkLength();
        for (double[] group : BETWEEN_DECADES) {
            List<Double> added = new ArrayList<>();
            for (int e = (int) Math.floor(Math.log10(d.min())); e <= (int) Math.floor(Math.log10(d.max())); e++) {
                for (double m : group) {
                    double value = m * Math.pow(10, e);
                    if (value < d.min() || value > d.max()) {
                        continue;
                    }
                    double y = chart.getScreenYFromChart(value);
                    boolean free = true;
                    for (List<Double> ys : List.of(taken, added)) {
                        for (double other : ys) {
                            free &= Math.abs(other - y) >= LABEL_GAP;
                        }
                    }
                    if (!free) {
                        continue;
                    }
                    added.add(y);
                    String text = plainNumber(value);
                    g.drawLine((int) Math.round(frameLeft - tick), (int) Math.round(y), (int) Math.round(frameLeft),
                            (int) Math.round(y));
                    g.drawString(text, (float) (frameLeft - tick - 4 - metrics.stringWidth(text)),
                            (float) (y + metrics.getAscent() / 2.0 - 1));
                }
            }
            taken.addAll(added);
        }
    }

    private static Drawn chart(Panel panel, Map<String, Color> colors) {
        XYChart chart = new XYChartBuilder()
                .width(PANEL_WIDTH).height(PANEL_HEIGHT)
                .title(panel.title()).xAxisTitle(panel.logSteps() ? "step (log scale)" : "step")
                .yAxisTitle(panel.yTitle())
                .build();
        XYStyler styler = chart.getStyler();
        styler.setLocale(Locale.ROOT);
        styler.setYAxisLogarithmic(panel.logY());
        styler.setXAxisLogarithmic(panel.logSteps());
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotBackgroundColor(Color.WHITE);
        styler.setPlotBorderColor(Color.GRAY);
        styler.setPlotGridLinesColor(new Color(0xdddddd));
        // Outside, so the legend never hides a curve whatever shape the curves take.
        styler.setLegendPosition(Styler.LegendPosition.OutsideE);
        styler.setLegendBorderColor(Color.LIGHT_GRAY);
        // Monospaced, so the final values line up in a column.
        styler.setLegendFont(new Font(Font.MONOSPACED, Font.PLAIN, 12));
        styler.setLegendSeriesLineLength(32);
        styler.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        styler.setChartTitleBoxVisible(false);
        styler.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        styler.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        styler.setMarkerSize(7);
        styler.setAntiAlias(true);
        if (!panel.logSteps()) {
            styler.setxAxisTickLabelsFormattingFunction(LossReport::stepLabel);
        }

        // Optimizer -> plottable points, in order of first appearance.
        Map<String, List<Point>> byOptimizer = new LinkedHashMap<>();
        for (Point p : panel.points()) {
            List<Point> line = byOptimizer.computeIfAbsent(p.optimizer(), o -> new ArrayList<>());
            boolean plottable = Double.isFinite(p.loss()) && (!panel.logY() || p.loss() > 0)
                    && (!panel.logSteps() || p.step() > 0);
            if (plottable) {
                line.add(p);
            }
        }
        List<Line> raw = new ArrayList<>();
        for (Map.Entry<String, List<Point>> e : byOptimizer.entrySet()) {
            List<Point> data = new ArrayList<>(e.getValue());
            if (data.isEmpty()) {
                continue;
            }
            data.sort(Comparator.comparingLong(Point::step));
            double[] steps = new double[data.size()];
            double[] values = new double[data.size()];
            for (int i = 0; i < data.size(); i++) {
                steps[i] = data.get(i).step();
                values[i] = data.get(i).loss();
            }
            raw.add(new Line(e.getKey(), steps, values));
        }
        if (raw.isEmpty()) {
            chart.setTitle(panel.title() + " (no plottable value)");
            return new Drawn(chart, 1, 0, 1, 0);
        }
        List<Line> shown = new ArrayList<>();
        for (Line line : raw) {
            shown.add(panel.smooth() ? smoothed(line, panel.logY()) : line);
        }

        double minStep = Double.POSITIVE_INFINITY;
        double maxStep = Double.NEGATIVE_INFINITY;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (Line line : raw) {
            for (int i = 0; i < line.steps().length; i++) {
                minStep = Math.min(minStep, line.steps()[i]);
                maxStep = Math.max(maxStep, line.steps()[i]);
                min = Math.min(min, line.values()[i]);
                max = Math.max(max, line.values()[i]);
            }
        }
        if (minStep < maxStep && !panel.logSteps()) {
            // XChart puts the x ticks on every n-th data point when the steps are equally
            // spaced (0, 30, 60, ... or 0, 2200, 4400, ...). An axis start just off that grid
            // makes it choose round tick values instead; the shift is invisible.
            styler.setXAxisMin(minStep - Math.max(0.01, Math.ulp(minStep) * 4));
        }
        // XChart labels the powers of ten; labelBetweenDecades adds what lies between.
        styler.setYAxisLogarithmicDecadeOnly(true);

        // The faint raw values first, so that every smoothed line is drawn over them.
        if (panel.smooth()) {
            for (Line line : raw) {
                Color c = colors.get(line.optimizer());
                XYSeries s = chart.addSeries(line.optimizer() + " (raw)", line.steps(), line.values());
                s.setMarker(SeriesMarkers.NONE);
                s.setLineColor(new Color(c.getRed(), c.getGreen(), c.getBlue(), 60));
                s.setLineStyle(new BasicStroke(1f));
                s.setShowInLegend(false);
            }
        }
        List<Line> ranked = new ArrayList<>(shown);
        ranked.sort(Comparator.comparingDouble(Line::last));
        int nameWidth = 0;
        for (Line line : ranked) {
            nameWidth = Math.max(nameWidth, line.optimizer().length());
        }
        for (int i = 0; i < ranked.size(); i++) {
            Line line = ranked.get(i);
            Color c = colors.get(line.optimizer());
            String note = panel.notes().get(line.optimizer());
            // A line drawn over by a later one that follows it everywhere: say so, as it cannot be seen.
            for (Line later : ranked.subList(i + 1, ranked.size())) {
                if (coincide(line, later)) {
                    note = (note == null ? "" : note + " ") + "(under " + later.optimizer() + ")";
                    break;
                }
            }
            String label = String.format(Locale.ROOT, "%-" + nameWidth + "s %s%s", line.optimizer(),
                    valueLabel(line.last()), note == null ? "" : " " + note);
            XYSeries s = chart.addSeries(label, line.steps(), line.values());
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(c);
            s.setLineStyle(stroke(line.optimizer()));
            // The final value, marked: a line of one point is otherwise invisible too.
            int n = line.steps().length;
            XYSeries end = chart.addSeries(line.optimizer() + " (final)", new double[] {line.steps()[n - 1]},
                    new double[] {line.last()});
            end.setMarker(SeriesMarkers.CIRCLE);
            end.setMarkerColor(c);
            end.setLineColor(c);
            end.setShowInLegend(false);
        }
        return new Drawn(chart, minStep, maxStep, min, max);
    }

    /** Whether two lines have the same steps and values within 0.5% of each other at every one. */
    static boolean coincide(Line a, Line b) {
        if (!java.util.Arrays.equals(a.steps(), b.steps())) {
            return false;
        }
        for (int i = 0; i < a.values().length; i++) {
            double x = a.values()[i];
            double y = b.values()[i];
            if (!(Math.abs(x - y) <= 0.005 * Math.max(Math.abs(x), Math.abs(y)))) {
                return false;
            }
        }
        return true;
    }

    /**
     * A line smoothed by a centred moving average over five points (fewer at the ends, where the
     * window is cut), of the logarithms on a logarithmic axis (a geometric mean), so that it
     * neither lags nor jumps at the noise's spikes.
     */
    static Line smoothed(Line line, boolean logarithmic) {
        int n = line.values().length;
        int half = 2;
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            int from = Math.max(0, i - half);
            int to = Math.min(n - 1, i + half);
            double sum = 0;
            for (int j = from; j <= to; j++) {
                sum += logarithmic ? Math.log(line.values()[j]) : line.values()[j];
            }
            double mean = sum / (to - from + 1);
            out[i] = logarithmic ? Math.exp(mean) : mean;
        }
        return new Line(line.optimizer(), line.steps(), out);
    }

    /** A legend's value: four significant digits, in plain notation from 1e-4 to 1e6. */
    static String valueLabel(double value) {
        double magnitude = Math.abs(value);
        if (value != 0 && (magnitude < 1e-4 || magnitude >= 1e6)) {
            return String.format(Locale.ROOT, "%.3e", value);
        }
        return String.format(Locale.ROOT, "%.4g", value);
    }

    /** The line style of the optimizer's family (see {@link #writeFigure}). */
    static BasicStroke stroke(String optimizer) {
        float[] dash = switch (optimizer) {
            case "adagrad", "rmsprop", "adadelta" -> new float[] {9f, 3f, 2f, 3f};
            case "adam", "adamw", "nadam", "adamax", "radam", "lamb" -> new float[] {8f, 4f};
            case "rprop", "lion" -> new float[] {0.1f, 4.5f};
            default -> null;
        };
        if (dash == null) {
            return new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
        }
        // Round dots, a little wider than the lines, so a dotted line is as easy to see.
        return dash.length == 2 && dash[0] < 1 ? new BasicStroke(2.8f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 10f, dash, 0f)
                : new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, dash, 0f);
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
    static Map<String, Color> colors(List<List<Panel>> rows) {
        Map<String, Color> colors = new LinkedHashMap<>();
        int others = 0;
        List<Point> points = rows.stream().flatMap(List::stream).filter(Objects::nonNull)
                .flatMap(p -> p.points().stream()).toList();
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
        AtomicFile.write(file, body(bytes));
    }

    private static AtomicFile.Body body(byte[] bytes) {
        return channel -> {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        };
    }
}

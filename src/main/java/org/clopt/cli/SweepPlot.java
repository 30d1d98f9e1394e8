package org.clopt.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.clopt.io.AtomicFile;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The picture of {@code bench --sweep}: effective GB/s against N (both on log axes) for each
 * optimizer, the roofline measured at each N as a black dashed line, and a vertical line where
 * the cache-bound sizes end, so that the launch floor (the rise at small N), the caches (the
 * roofline's hump) and each algorithm's distance from the roofline can be read off.
 */
final class SweepPlot {
    private SweepPlot() {
    }

    /** Okabe and Ito's colours, distinguishable with the common colour-vision deficiencies. */
    private static final Color[] COLORS = {new Color(0xE69F00), new Color(0x56B4E9), new Color(0x009E73),
        new Color(0xD55E00), new Color(0x0072B2), new Color(0xCC79A7), new Color(0x999999)};
    private static final org.knowm.xchart.style.markers.Marker[] MARKERS = {SeriesMarkers.CIRCLE,
        SeriesMarkers.DIAMOND, SeriesMarkers.SQUARE, SeriesMarkers.TRIANGLE_UP, SeriesMarkers.TRIANGLE_DOWN,
        SeriesMarkers.CROSS, SeriesMarkers.PLUS};

    /** One measurement of the sweep. */
    record Point(String optimizer, long n, double gbps, double rooflineGbps, boolean cacheBound) {
    }

    /**
     * Writes the PNG of {@code points} to {@code file}, atomically.
     *
     * @param points the sweep's measurements, any order
     * @param roofline the roofline at each N: the median of its measurements
     * @param caption what made them: the device and how N was swept
     */
    static void write(Path file, List<Point> points, Map<Long, Double> roofline, String caption) throws IOException {
        XYChart chart = new XYChartBuilder().width(1100).height(700)
                .title("bench --sweep: effective bandwidth against size")
                .xAxisTitle("N (elements, log scale); " + caption).yAxisTitle("GB/s (log scale)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesVisible(true);
        chart.getStyler().setXAxisDecimalPattern("0.#E0");
        Map<String, List<Point>> byOptimizer = new LinkedHashMap<>();
        for (Point p : points) {
            byOptimizer.computeIfAbsent(p.optimizer(), k -> new ArrayList<>()).add(p);
        }
        List<Point> first = byOptimizer.values().iterator().next();
        XYSeries roof = chart.addSeries("roofline y += a*x (median)",
                roofline.keySet().stream().map(Long::doubleValue).toList(), List.copyOf(roofline.values()));
        roof.setLineColor(Color.BLACK);
        roof.setMarker(SeriesMarkers.NONE);
        roof.setLineStyle(new BasicStroke(2.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
                new float[] {8f, 6f}, 0f));
        int k = 0;
        for (Map.Entry<String, List<Point>> e : byOptimizer.entrySet()) {
            XYSeries s = chart.addSeries(e.getKey(), e.getValue().stream().map(p -> (double) p.n()).toList(),
                    e.getValue().stream().map(Point::gbps).toList());
            // Colour, marker and dash all change from series to series: 15 stay apart.
            Color color = COLORS[k % COLORS.length];
            s.setLineColor(color);
            s.setMarkerColor(color);
            s.setMarker(MARKERS[k % MARKERS.length]);
            s.setLineStyle(k / COLORS.length == 0 ? new BasicStroke(1.5f)
                    : new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
                            new float[] {k / COLORS.length == 1 ? 6f : 2f, 3f}, 0f));
            k++;
        }
        long lastCacheBound = first.stream().filter(Point::cacheBound).mapToLong(Point::n).max().orElse(0);
        if (lastCacheBound > 0) {
            chart.addAnnotation(new AnnotationLine(lastCacheBound, true, false));
            chart.addAnnotation(new AnnotationText("cache-bound up to here", lastCacheBound,
                    roofline.values().stream().mapToDouble(Double::doubleValue).max().orElse(1), false));
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        if (!ImageIO.write(BitmapEncoder.getBufferedImage(chart), "png", png)) {
            throw new IOException("no PNG writer in this Java runtime");
        }
        byte[] bytes = png.toByteArray();
        AtomicFile.write(file, channel -> {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                channel.write(b);
            }
        });
    }

    /** A line of the table for one optimizer at one size. */
    static String row(Point p, double medianMs) {
        return String.format(Locale.ROOT, "%-10s %10d %10.4f %9.1f %9.1f %7.0f%%%s", p.optimizer(), p.n(), medianMs,
                p.gbps(), p.rooflineGbps(), 100 * p.gbps() / p.rooflineGbps(), p.cacheBound() ? "  cache" : "");
    }
}

package io.gradstream.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A small line-chart writer, drawn with Java2D and written as PNG: panels stacked vertically over a shared time axis,
 * one series per panel and an optional straight line (a fit), for the soak; or panels of several labelled series each
 * ({@link #writeSeries}), for the compression study. Enough for the reports without a plotting library.
 */
public final class PngPlot {

    /** Image width in pixels. */
    public static final int WIDTH = 1000;
    /** Height of one panel in pixels; the image is {@code TOP + panels * PANEL_HEIGHT} high. */
    public static final int PANEL_HEIGHT = 170;
    /** Height of the title band in pixels. */
    public static final int TOP = 40;

    private static final int LEFT = 90;
    private static final int RIGHT = 20;
    private static final int PAD_TOP = 22;
    private static final int PAD_BOTTOM = 28;

    /**
     * One panel: {@code y} against {@code x}; {@code fitSlope}/{@code fitIntercept} draw a line from {@code fitFrom}
     * to the last x when {@code fitFrom} is not NaN.
     */
    public record Panel(String title, double[] x, double[] y, double fitFrom, double fitSlope, double fitIntercept) {

        public Panel(String title, double[] x, double[] y) {
            this(title, x, y, Double.NaN, 0, 0);
        }
    }

    private PngPlot() {}

    /** The image's height for {@code panels} panels. */
    public static int height(int panels) {
        return TOP + panels * PANEL_HEIGHT;
    }

    /** Draws the panels and writes {@code file} as PNG. */
    public static void write(Path file, String title, String xLabel, List<Panel> panels) throws IOException {
        BufferedImage image = new BufferedImage(WIDTH, height(panels.size()), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, LEFT, 26);
            for (int i = 0; i < panels.size(); i++) {
                draw(g, panels.get(i), TOP + i * PANEL_HEIGHT, xLabel);
            }
        } finally {
            g.dispose();
        }
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer in this JVM");
        }
    }

    /**
     * A panel's title, grid, tick labels and border; {@code box} is {x0, x1, y0, y1}, and with {@code logX} the x range
     * is in log10 and the labels show the values.
     */
    private static void frame(
            Graphics2D g, String title, int top, int[] box, double[] xr, double[] yr, boolean logX, String xLabel) {
        int x0 = box[0];
        int x1 = box[1];
        int y0 = box[2];
        int y1 = box[3];
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
        g.setColor(Color.BLACK);
        g.drawString(title, x0, top + 15);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int t = 0; t <= 4; t++) {
            double v = yr[0] + (yr[1] - yr[0]) * t / 4;
            int y = (int) Math.round(y1 - (y1 - y0) * t / 4.0);
            g.setColor(new Color(230, 230, 230));
            g.drawLine(x0, y, x1, y);
            g.setColor(Color.DARK_GRAY);
            String label = label(v);
            g.drawString(label, x0 - 6 - g.getFontMetrics().stringWidth(label), y + 4);
        }
        for (int t = 0; t <= 5; t++) {
            double v = xr[0] + (xr[1] - xr[0]) * t / 5;
            int x = (int) Math.round(x0 + (x1 - x0) * t / 5.0);
            g.setColor(Color.DARK_GRAY);
            g.drawLine(x, y1, x, y1 + 3);
            String label = label(logX ? Math.pow(10, v) : v) + (t == 5 ? " " + xLabel : "");
            int w = g.getFontMetrics().stringWidth(label);
            g.drawString(label, Math.min(x - w / 2, x1 - w), y1 + 15);
        }
        g.setColor(Color.GRAY);
        g.drawRect(x0, y0, x1 - x0, y1 - y0);
    }

    private static void draw(Graphics2D g, Panel p, int top, String xLabel) {
        int x0 = LEFT;
        int x1 = WIDTH - RIGHT;
        int y0 = top + PAD_TOP;
        int y1 = top + PANEL_HEIGHT - PAD_BOTTOM;
        double[] xr = range(p.x());
        double[] yr = range(p.y());
        if (yr[0] > 0 && yr[0] < yr[1] * 0.5) {
            yr[0] = 0; // small positive series read better from zero
        }
        double pad = (yr[1] - yr[0]) * 0.08;
        yr[0] -= yr[0] == 0 ? 0 : pad;
        yr[1] += pad;

        frame(g, p.title(), top, new int[] {x0, x1, y0, y1}, xr, yr, false, xLabel);

        g.setColor(new Color(31, 119, 180));
        g.setStroke(new BasicStroke(1.6f));
        int px = -1;
        int py = -1;
        for (int i = 0; i < p.x().length; i++) {
            if (!Double.isFinite(p.y()[i])) {
                px = -1;
                continue;
            }
            int x = sx(p.x()[i], xr, x0, x1);
            int y = sy(p.y()[i], yr, y0, y1);
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            if (p.x().length <= 120) {
                g.fillOval(x - 2, y - 2, 4, 4);
            }
            px = x;
            py = y;
        }
        if (!Double.isNaN(p.fitFrom()) && p.x().length > 0) {
            double xa = p.fitFrom();
            double xb = xr[1];
            g.setColor(new Color(214, 39, 40));
            g.setStroke(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
            g.drawLine(
                    sx(xa, xr, x0, x1),
                    sy(p.fitIntercept() + p.fitSlope() * xa, yr, y0, y1),
                    sx(xb, xr, x0, x1),
                    sy(p.fitIntercept() + p.fitSlope() * xb, yr, y0, y1));
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static int sx(double v, double[] r, int x0, int x1) {
        return (int) Math.round(x0 + (v - r[0]) / (r[1] - r[0]) * (x1 - x0));
    }

    private static int sy(double v, double[] r, int y0, int y1) {
        double f = (v - r[0]) / (r[1] - r[0]);
        return (int) Math.round(y1 - Math.max(-0.05, Math.min(1.05, f)) * (y1 - y0));
    }

    /** Min and max of the finite values, widened when they are equal (a constant series still gets an axis). */
    private static double[] range(double[] v) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double d : v) {
            if (Double.isFinite(d)) {
                lo = Math.min(lo, d);
                hi = Math.max(hi, d);
            }
        }
        if (lo > hi) {
            return new double[] {0, 1};
        }
        if (lo == hi) {
            double w = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            return new double[] {lo - w, hi + w};
        }
        return new double[] {lo, hi};
    }

    private static String label(double v) {
        double a = Math.abs(v);
        if (a >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (a >= 1e4) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        if (a >= 100 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /** One labelled line of a {@link SeriesPanel}; {@code dashed} draws it dashed. */
    public record Series(String label, double[] x, double[] y, boolean dashed) {}

    /** A panel of several series against one x axis, logarithmic when {@code logX} (x must then be positive). */
    public record SeriesPanel(String title, String xLabel, boolean logX, List<Series> series) {}

    /** Height of one panel of {@link #writeSeries} in pixels. */
    public static final int SERIES_PANEL_HEIGHT = 300;

    private static final int LEGEND = 250;

    /**
     * Draws panels of several series each, stacked vertically, with a legend beside each panel, and writes
     * {@code file} as PNG. Colours repeat after fourteen series; tell such series apart with {@code dashed}.
     */
    public static void writeSeries(Path file, String title, List<SeriesPanel> panels) throws IOException {
        BufferedImage image =
                new BufferedImage(WIDTH, TOP + panels.size() * SERIES_PANEL_HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, LEFT, 26);
            for (int i = 0; i < panels.size(); i++) {
                drawSeries(g, panels.get(i), TOP + i * SERIES_PANEL_HEIGHT);
            }
        } finally {
            g.dispose();
        }
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer in this JVM");
        }
    }

    /** Matplotlib's ten default colours, so the plots read like the usual ones, then four darker ones. */
    private static final Color[] PALETTE = {
        new Color(31, 119, 180),
        new Color(255, 127, 14),
        new Color(44, 160, 44),
        new Color(214, 39, 40),
        new Color(148, 103, 189),
        new Color(140, 86, 75),
        new Color(227, 119, 194),
        new Color(127, 127, 127),
        new Color(188, 189, 34),
        new Color(23, 190, 207),
        Color.BLACK,
        new Color(0, 0, 128),
        new Color(128, 128, 0),
        new Color(255, 200, 0)
    };

    private static void drawSeries(Graphics2D g, SeriesPanel p, int top) {
        int x0 = LEFT;
        int x1 = WIDTH - RIGHT - LEGEND;
        int y0 = top + PAD_TOP;
        int y1 = top + SERIES_PANEL_HEIGHT - PAD_BOTTOM;
        List<double[]> xs = new java.util.ArrayList<>();
        for (Series s : p.series()) {
            double[] x = s.x().clone();
            if (p.logX()) {
                for (int i = 0; i < x.length; i++) {
                    x[i] = x[i] > 0 ? Math.log10(x[i]) : Double.NaN;
                }
            }
            xs.add(x);
        }
        double[] xr = range(concat(xs));
        double[] yr = range(concat(p.series().stream().map(Series::y).toList()));
        double pad = (yr[1] - yr[0]) * 0.05;
        yr[0] -= pad;
        yr[1] += pad;

        frame(g, p.title(), top, new int[] {x0, x1, y0, y1}, xr, yr, p.logX(), p.xLabel());

        for (int k = 0; k < p.series().size(); k++) {
            Series s = p.series().get(k);
            Color c = PALETTE[k % PALETTE.length];
            g.setColor(c);
            g.setStroke(
                    s.dashed()
                            ? new BasicStroke(
                                    1.6f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0)
                            : new BasicStroke(1.6f));
            double[] x = xs.get(k);
            int px = -1;
            int py = -1;
            for (int i = 0; i < x.length; i++) {
                if (!Double.isFinite(s.y()[i]) || !Double.isFinite(x[i])) {
                    continue; // a gap in y (not measured at that x) joins its neighbours
                }
                int sx = sx(x[i], xr, x0, x1);
                int syv = sy(s.y()[i], yr, y0, y1);
                if (px >= 0) {
                    g.drawLine(px, py, sx, syv);
                }
                px = sx;
                py = syv;
            }
            int ly = y0 + 8 + k * 13;
            g.drawLine(x1 + 10, ly - 4, x1 + 34, ly - 4);
            g.setColor(Color.BLACK);
            g.drawString(s.label(), x1 + 40, ly);
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static double[] concat(List<double[]> arrays) {
        return arrays.stream().flatMapToDouble(java.util.Arrays::stream).toArray();
    }
}
